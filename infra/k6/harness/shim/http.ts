import { parseDuration } from '../runtime/duration';
import { K6UsageError, state, stringTags } from '../runtime/state';
import { requestSync } from '../runtime/sync-http';
import type { WireHop } from '../runtime/wire';
import { strictModule } from './strict';

/**
 * The `k6/http` module, synchronous as in k6: get, head, post, put, patch,
 * del, options, request (and asyncRequest, resolved at once), with the params
 * headers, tags, redirects, timeout, responseType and responseCallback;
 * expectedStatuses and setResponseCallback for http_req_failed.
 */

type Body = string | ArrayBuffer | ArrayBufferView | Record<string, unknown> | null | undefined;
type ResponseType = 'text' | 'binary' | 'none';

interface Params {
  headers?: Record<string, unknown>;
  tags?: Record<string, unknown>;
  redirects?: number;
  timeout?: string | number;
  responseType?: ResponseType;
  responseCallback?: ExpectedStatuses | null;
}

const SUPPORTED_PARAMS = new Set(['headers', 'tags', 'redirects', 'timeout', 'responseType', 'responseCallback']);
const KNOWN_UNSUPPORTED_PARAMS = new Set(['auth', 'compression', 'cookies', 'jar']);
const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_REDIRECTS = 10;
const USER_AGENT = 'k6/once-harness (https://k6.io/)';

/** What `http.expectedStatuses()` returns: the statuses (and ranges) that count as expected. */
export class ExpectedStatuses {
  readonly ranges: ReadonlyArray<{ min: number; max: number }>;
  constructor(ranges: Array<{ min: number; max: number }>) {
    this.ranges = ranges;
  }
  matches(status: number): boolean {
    return this.ranges.some((r) => status >= r.min && status <= r.max);
  }
}

let responseCallback: ExpectedStatuses | null = new ExpectedStatuses([{ min: 200, max: 399 }]);

export function expectedStatuses(...statuses: Array<number | { min: number; max: number }>): ExpectedStatuses {
  if (statuses.length === 0) throw new K6UsageError('expectedStatuses() needs at least one status or {min, max} range');
  return new ExpectedStatuses(
    statuses.map((s, i) => {
      if (typeof s === 'number' && Number.isInteger(s)) return { min: s, max: s };
      if (s && typeof s === 'object' && Number.isInteger(s.min) && Number.isInteger(s.max)) return { min: s.min, max: s.max };
      throw new K6UsageError(`expectedStatuses(): argument ${i + 1} must be an integer status or a {min, max} object of integers, not ${JSON.stringify(s)}`);
    }),
  );
}

export function setResponseCallback(callback: ExpectedStatuses | null): void {
  if (callback !== null && !(callback instanceof ExpectedStatuses)) {
    throw new K6UsageError('setResponseCallback() takes the result of http.expectedStatuses() or null');
  }
  responseCallback = callback;
}

/** Go's textproto.CanonicalMIMEHeaderKey: "content-type" → "Content-Type" (keys with non-token characters stay as they are). */
export function canonicalHeaderKey(key: string): string {
  if (!/^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/.test(key)) return key;
  return key.toLowerCase().replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}

function decode(bytes: Uint8Array | null): string {
  return bytes === null ? '' : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('utf8');
}

/** A small subset of gjson paths (what k6's `res.json(selector)` takes): dotted keys, array indexes, `#` for a length. */
function select(value: unknown, selector: string): unknown {
  if (/[*?|@!=<>()[\]{}]/.test(selector) || selector.includes('\\')) {
    throw new Error(`res.json('${selector}'): only plain dotted paths (a.b.0.c, items.#) are implemented by the k6 once-harness`);
  }
  let current: unknown = value;
  for (const key of selector.split('.')) {
    if (Array.isArray(current)) {
      if (key === '#') current = current.length;
      else if (/^\d+$/.test(key)) current = current[Number(key)];
      else return undefined;
    } else if (current !== null && typeof current === 'object' && Object.prototype.hasOwnProperty.call(current, key)) {
      current = (current as Record<string, unknown>)[key];
    } else {
      return undefined;
    }
    if (current === undefined) return undefined;
  }
  return current;
}

class K6Response {
  status: number;
  status_text: string;
  body: string | ArrayBuffer | null;
  headers: Record<string, string>;
  url: string;
  proto: string;
  remote_ip: string;
  remote_port: number;
  error: string;
  error_code: number;
  timings: { blocked: number; connecting: number; tls_handshaking: number; sending: number; waiting: number; receiving: number; duration: number };
  request: { method: string; url: string; headers: Record<string, string[]>; body: string; cookies: Record<string, never[]> };

  constructor(hop: WireHop, responseType: ResponseType, readBody: boolean) {
    this.status = hop.status;
    this.status_text = hop.status === 0 ? '' : `${hop.status} ${hop.statusText}`.trim();
    if (!readBody || hop.body === null) this.body = null;
    else if (responseType === 'binary') this.body = hop.body.slice().buffer;
    else this.body = decode(hop.body);
    this.headers = {};
    for (const [name, value] of hop.headers) {
      const key = canonicalHeaderKey(name);
      this.headers[key] = key in this.headers ? `${this.headers[key]}, ${value}` : value;
    }
    this.url = hop.url;
    const target = new URL(hop.url);
    this.proto = hop.status === 0 ? '' : 'HTTP/1.1';
    this.remote_ip = hop.status === 0 ? '' : target.hostname.replace(/^\[|\]$/g, '');
    this.remote_port = hop.status === 0 ? 0 : Number(target.port || (target.protocol === 'https:' ? 443 : 80));
    this.error = hop.error ?? '';
    this.error_code = hop.errorCode ?? 0;
    this.timings = { blocked: 0, connecting: 0, tls_handshaking: 0, ...hop.timings };
    const requestHeaders: Record<string, string[]> = {};
    for (const [name, value] of hop.requestHeaders) (requestHeaders[canonicalHeaderKey(name)] ??= []).push(value);
    this.request = { method: hop.method, url: hop.url, headers: requestHeaders, body: decode(hop.requestBody), cookies: {} };
  }

  json(selector?: string): unknown {
    if (this.body === null) {
      throw new Error("the body is null so we can't transform it to JSON - this likely was because of a request error getting the response");
    }
    const text = typeof this.body === 'string' ? this.body : Buffer.from(this.body).toString('utf8');
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch (err) {
      throw new Error(`cannot parse json due to an error: ${(err as Error).message} (body of ${this.request.method} ${this.url}: ${JSON.stringify(text.slice(0, 200))})`, {
        cause: err,
      });
    }
    return selector === undefined ? parsed : select(parsed, selector);
  }
}

function encodeBody(body: Body, headers: Array<[string, string]>): Uint8Array | null {
  if (body === null || body === undefined) return null;
  if (typeof body === 'string') return new Uint8Array(Buffer.from(body, 'utf8'));
  if (body instanceof ArrayBuffer) return new Uint8Array(body.slice(0));
  if (ArrayBuffer.isView(body)) return new Uint8Array(body.buffer.slice(body.byteOffset, body.byteOffset + body.byteLength));
  if (typeof body === 'object') {
    const form = new URLSearchParams();
    for (const key of Object.keys(body).sort()) {
      const value = body[key];
      if (value !== null && typeof value === 'object') {
        throw new Error(`http: body field '${key}' is an object (http.file / multipart bodies are not implemented by the k6 once-harness)`);
      }
      form.append(key, String(value));
    }
    if (!headers.some(([k]) => k.toLowerCase() === 'content-type')) headers.push(['Content-Type', 'application/x-www-form-urlencoded']);
    return new Uint8Array(Buffer.from(form.toString(), 'utf8'));
  }
  throw new K6UsageError(`http: unsupported request body type ${typeof body}`);
}

function readParams(params: unknown): Params {
  if (params === null || params === undefined) return {};
  if (typeof params !== 'object' || Array.isArray(params)) throw new K6UsageError(`http: params must be an object, not ${Array.isArray(params) ? 'an array' : typeof params}`);
  for (const key of Object.keys(params)) {
    if (KNOWN_UNSUPPORTED_PARAMS.has(key)) throw new Error(`http: the '${key}' param is not implemented by the k6 once-harness`);
    if (!SUPPORTED_PARAMS.has(key)) state.warn(`http: unknown param '${key}' ignored (k6 ignores it too)`);
  }
  return params as Params;
}

function urlOf(url: unknown): string {
  const text = typeof url === 'string' ? url : url !== null && typeof url === 'object' ? String(url) : undefined;
  if (text === undefined) throw new K6UsageError(`http: the URL must be a string, not ${typeof url}`);
  let parsed: URL;
  try {
    parsed = new URL(text);
  } catch {
    throw new K6UsageError(`http: invalid URL ${JSON.stringify(text)}`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') throw new K6UsageError(`http: unsupported protocol scheme in ${JSON.stringify(text)}`);
  return parsed.toString();
}

export function request(method: string, url: unknown, body?: Body, rawParams?: unknown): K6Response {
  if (state.phase === 'init') throw new K6UsageError('Making http requests in the init context is not supported');
  if (typeof method !== 'string' || method === '') throw new K6UsageError('http.request() needs a method');
  const params = readParams(rawParams);
  const target = urlOf(url);
  const upper = method.toUpperCase();

  const headers: Array<[string, string]> = [];
  if (params.headers !== undefined && params.headers !== null) {
    if (typeof params.headers !== 'object') throw new K6UsageError('http: params.headers must be an object');
    for (const [k, v] of Object.entries(params.headers)) {
      if (v === undefined || v === null) continue;
      headers.push([k, String(v)]);
    }
  }
  const userAgent = typeof state.options.userAgent === 'string' ? state.options.userAgent : USER_AGENT;
  if (!headers.some(([k]) => k.toLowerCase() === 'user-agent') && userAgent !== '') headers.push(['User-Agent', userAgent]);
  const bytes = encodeBody(body, headers);

  const timeoutMs = params.timeout === undefined ? DEFAULT_TIMEOUT_MS : parseDuration(params.timeout);
  if (timeoutMs === null || timeoutMs <= 0) throw new K6UsageError(`http: invalid timeout ${JSON.stringify(params.timeout)}`);
  const globalRedirects = typeof state.options.maxRedirects === 'number' ? state.options.maxRedirects : DEFAULT_MAX_REDIRECTS;
  const maxRedirects = params.redirects ?? globalRedirects;
  if (!Number.isInteger(maxRedirects) || maxRedirects < 0) throw new K6UsageError(`http: invalid redirects ${JSON.stringify(params.redirects)}`);
  const responseType: ResponseType = params.responseType ?? 'text';
  if (!['text', 'binary', 'none'].includes(responseType)) throw new K6UsageError(`http: invalid responseType ${JSON.stringify(responseType)}`);
  const readBody = responseType !== 'none' && !(state.options.discardResponseBodies === true && params.responseType === undefined);
  const callback = params.responseCallback === undefined ? responseCallback : params.responseCallback;
  if (callback !== null && !(callback instanceof ExpectedStatuses)) throw new K6UsageError('http: params.responseCallback must come from http.expectedStatuses() (or be null)');
  const userTags = params.tags === undefined || params.tags === null ? {} : stringTags(params.tags);

  const answer = requestSync({ method: upper, url: target, headers, body: bytes, maxRedirects, timeoutMs, readBody });
  for (const hop of answer.hops) record(hop, callback, userTags);
  const last = answer.hops[answer.hops.length - 1]!;
  return strictModule('Response', new K6Response(last, responseType, readBody));
}

function record(hop: WireHop, callback: ExpectedStatuses | null, userTags: Record<string, string>): void {
  const expected = callback === null ? null : callback.matches(hop.status);
  const tags: Record<string, string> = {
    name: hop.url,
    method: hop.method,
    url: hop.url,
    status: String(hop.status),
    proto: hop.status === 0 ? '' : 'HTTP/1.1',
    ...(expected === null ? {} : { expected_response: String(expected) }),
    ...(hop.errorCode ? { error_code: String(hop.errorCode), error: hop.error ?? '' } : {}),
    ...userTags,
  };
  state.addSample('http_reqs', 1, tags);
  state.addSample('http_req_duration', hop.timings.duration, tags);
  state.addSample('http_req_blocked', 0, tags);
  state.addSample('http_req_connecting', 0, tags);
  state.addSample('http_req_tls_handshaking', 0, tags);
  state.addSample('http_req_sending', hop.timings.sending, tags);
  state.addSample('http_req_waiting', hop.timings.waiting, tags);
  state.addSample('http_req_receiving', hop.timings.receiving, tags);
  if (expected !== null) state.addSample('http_req_failed', expected ? 0 : 1, tags);
  state.addSample('data_sent', hop.sentBytes, tags);
  state.addSample('data_received', hop.receivedBytes, tags);
  state.requests.push({
    phase: state.phase,
    scenario: state.scenario?.name ?? null,
    method: hop.method,
    url: hop.url,
    status: hop.status,
    expected,
    durationMs: Math.round(hop.timings.duration * 100) / 100,
    ...(hop.error ? { error: hop.error } : {}),
  });
}

export const get = (url: unknown, params?: unknown) => request('GET', url, null, params);
export const head = (url: unknown, params?: unknown) => request('HEAD', url, null, params);
export const post = (url: unknown, body?: Body, params?: unknown) => request('POST', url, body, params);
export const put = (url: unknown, body?: Body, params?: unknown) => request('PUT', url, body, params);
export const patch = (url: unknown, body?: Body, params?: unknown) => request('PATCH', url, body, params);
export const del = (url: unknown, body?: Body, params?: unknown) => request('DELETE', url, body, params);
export const options = (url: unknown, body?: Body, params?: unknown) => request('OPTIONS', url, body, params);
/** Resolved with the (synchronously made) response: one iteration has no concurrency to gain. */
export const asyncRequest = (method: string, url: unknown, body?: Body, params?: unknown) =>
  new Promise<K6Response>((resolve) => resolve(request(method, url, body, params)));

export default strictModule('k6/http', {
  get,
  head,
  post,
  put,
  patch,
  del,
  options,
  request,
  asyncRequest,
  expectedStatuses,
  setResponseCallback,
});
