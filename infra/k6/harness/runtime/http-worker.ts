import { type MessagePort, parentPort, workerData } from 'node:worker_threads';
import type { WireHop, WireRequest, WireResponse } from './wire';

/**
 * The HTTP worker: performs each request with Node's fetch and posts the
 * answer on the reply port, then wakes the main thread, which is blocked in
 * Atomics.wait (k6's HTTP calls are synchronous for the script).
 */

interface WorkerInit {
  signal: Int32Array;
  reply: MessagePort;
}

const { signal, reply } = workerData as WorkerInit;
const REDIRECT = new Set([301, 302, 303, 307, 308]);

/** k6 error codes (https://grafana.com/docs/k6/latest/javascript-api/error-codes/) for the failures fetch reports. */
function classify(err: unknown, timedOut: boolean): { error: string; errorCode: number } {
  if (timedOut) return { error: 'request timeout', errorCode: 1050 };
  const cause = (err as { cause?: { code?: string; message?: string } }).cause;
  const code = cause?.code ?? '';
  const message = cause?.message ?? (err instanceof Error ? err.message : String(err));
  switch (code) {
    case 'ECONNREFUSED':
      return { error: `dial: ${message}`, errorCode: 1212 };
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
      return { error: `lookup: ${message}`, errorCode: 1101 };
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return { error: `read: ${message}`, errorCode: 1220 };
    default:
      return { error: message, errorCode: 1000 };
  }
}

const headerBytes = (headers: Array<[string, string]>) => headers.reduce((n, [k, v]) => n + k.length + v.length + 4, 0);

async function hop(method: string, url: string, headers: Array<[string, string]>, body: Uint8Array | null, req: WireRequest, deadline: number): Promise<WireHop> {
  const started = performance.now();
  const remaining = Math.max(1, deadline - Date.now());
  const abort = AbortSignal.timeout(remaining);
  const base = { method, url, requestHeaders: headers, requestBody: body };
  const sentBytes = method.length + url.length + 12 + headerBytes(headers) + (body?.byteLength ?? 0);
  let response: Response;
  try {
    response = await fetch(url, { method, headers, body, redirect: 'manual', signal: abort });
  } catch (err) {
    const elapsed = performance.now() - started;
    return {
      ...base,
      status: 0,
      statusText: '',
      headers: [],
      body: null,
      timings: { sending: 0, waiting: elapsed, receiving: 0, duration: elapsed },
      sentBytes,
      receivedBytes: 0,
      ...classify(err, abort.aborted),
    };
  }
  const headersAt = performance.now();
  const responseHeaders: Array<[string, string]> = [];
  response.headers.forEach((value, name) => {
    if (name !== 'set-cookie') responseHeaders.push([name, value]);
  });
  for (const cookie of response.headers.getSetCookie()) responseHeaders.push(['set-cookie', cookie]);
  let bytes: Uint8Array | null = null;
  let failure: { error: string; errorCode: number } | undefined;
  try {
    const buf = new Uint8Array(await response.arrayBuffer());
    bytes = req.readBody ? buf : null;
  } catch (err) {
    failure = classify(err, abort.aborted);
  }
  const done = performance.now();
  return {
    ...base,
    status: response.status,
    statusText: response.statusText,
    headers: responseHeaders,
    body: bytes,
    timings: { sending: 0, waiting: headersAt - started, receiving: done - headersAt, duration: done - started },
    sentBytes,
    receivedBytes: 17 + response.statusText.length + headerBytes(responseHeaders) + (bytes?.byteLength ?? 0),
    ...(failure ?? {}),
  };
}

async function perform(req: WireRequest): Promise<WireResponse> {
  const deadline = Date.now() + req.timeoutMs;
  const hops: WireHop[] = [];
  let { method, url, headers, body } = req;
  for (;;) {
    const h = await hop(method, url, headers, body, req, deadline);
    hops.push(h);
    const location = h.headers.find(([k]) => k === 'location')?.[1];
    if (!REDIRECT.has(h.status) || location === undefined) return { hops };
    if (hops.length > req.maxRedirects) {
      // k6 stops following and hands the script the last redirect response.
      if (req.maxRedirects > 0) h.error = `stopped after ${req.maxRedirects} redirects`;
      return { hops };
    }
    url = new URL(location, url).toString();
    if (h.status === 303 || ((h.status === 301 || h.status === 302) && method === 'POST')) {
      method = method === 'HEAD' ? 'HEAD' : 'GET';
      body = null;
      headers = headers.filter(([k]) => !/^content-(type|length)$/i.test(k));
    }
  }
}

function answer(message: WireResponse | { fatal: string }): void {
  reply.postMessage(message);
  Atomics.store(signal, 0, 1);
  Atomics.notify(signal, 0);
}

parentPort!.on('message', (req: WireRequest) => {
  perform(req).then(answer, (err: unknown) => answer({ fatal: err instanceof Error ? (err.stack ?? err.message) : String(err) }));
});
parentPort!.postMessage('ready');
