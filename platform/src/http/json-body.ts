import express, { type RequestHandler } from 'express';
import { MalformedJsonError, UnsupportedMediaTypeError, ValidationError } from '../errors/errors';
import { NUL_MESSAGE, formatPath, type FieldError } from './validation';

export const JSON_MEDIA_TYPES = ['application/json', 'application/*+json'];
export const DEFAULT_BODY_LIMIT = 1024 * 1024;

const METHODS_WITH_BODY = new Set(['POST', 'PUT', 'PATCH']);
const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/**
 * The body pipeline of a route: media type check (415), bounded read (413,
 * decompression included in the bound), then JSON parsing that refuses what
 * JSON.parse would silently accept but the domain must not see.
 */
export function jsonBody(options: { limit: number | string }): RequestHandler[] {
  return [requireJsonMediaType, express.raw({ type: JSON_MEDIA_TYPES, limit: options.limit }), parseJsonBody];
}

const requireJsonMediaType: RequestHandler = (req, _res, next) => {
  if (!hasBody(req.headers)) return next();
  const contentType = req.headers['content-type'];
  if (!req.is(JSON_MEDIA_TYPES)) {
    if (!METHODS_WITH_BODY.has(req.method)) return next();
    const got = contentType === undefined ? 'no Content-Type' : `"${contentType.slice(0, 100)}"`;
    throw new UnsupportedMediaTypeError(`expected an application/json body, got ${got}`);
  }
  // RFC 8259 §8.1: JSON exchanged between systems is UTF-8.
  const charset = /;\s*charset\s*=\s*"?([^";\s]+)/i.exec(contentType ?? '')?.[1]?.toLowerCase();
  if (charset !== undefined && charset !== 'utf-8' && charset !== 'utf8') {
    throw new UnsupportedMediaTypeError(`unsupported charset "${charset.slice(0, 40)}": JSON bodies are UTF-8`);
  }
  next();
};

const parseJsonBody: RequestHandler = (req, _res, next) => {
  if (Buffer.isBuffer(req.body)) {
    req.body = req.body.length === 0 ? undefined : parseSafeJson(req.body, 'body');
  }
  next();
};

function hasBody(headers: { 'transfer-encoding'?: string; 'content-length'?: string }): boolean {
  return headers['transfer-encoding'] !== undefined || (headers['content-length'] ?? '0') !== '0';
}

const utf8 = new TextDecoder('utf-8', { fatal: true });

/**
 * JSON.parse, plus four refusals, each reported with the path of the value:
 * - the keys `__proto__`, `constructor`, `prototype`, anywhere: harmless to
 *   JSON.parse itself, but one careless merge away from prototype pollution;
 * - the NUL character (`\u0000`) in a string or a key, which PostgreSQL
 *   stores in neither text nor jsonb (a 500 at the database otherwise);
 * - non-finite numbers (`1e400` parses to Infinity);
 * - integers beyond ±(2^53 − 1), which would arrive silently rounded.
 * Like body-parser's `strict`, the top level must be an object or an array.
 */
export function parseSafeJson(bytes: Uint8Array, root: string): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new MalformedJsonError(`${root} is not valid UTF-8`);
  }
  const first = /\S/.exec(text)?.[0];
  if (first !== '{' && first !== '[') {
    throw new MalformedJsonError(`${root} must be a JSON object or array`);
  }

  // The reviver sees leaves before their parents, so a violation's path is
  // only known once the whole tree is built: record each value's parent and
  // resolve paths at the end.
  const parents = new WeakMap<object, { holder: object; key: string }>();
  const violations: { holder: object; key: string; message: string }[] = [];
  function reviver(this: object, key: string, value: unknown): unknown {
    if (typeof value === 'object' && value !== null) parents.set(value, { holder: this, key });
    if (FORBIDDEN_KEYS.has(key)) {
      violations.push({ holder: this, key, message: `the key "${key}" is not allowed` });
    } else if (key.includes('\u0000') || (typeof value === 'string' && value.includes('\u0000'))) {
      violations.push({ holder: this, key, message: NUL_MESSAGE });
    } else if (typeof value === 'number') {
      if (!Number.isFinite(value)) {
        violations.push({ holder: this, key, message: 'number is out of range' });
      } else if (Number.isInteger(value) && !Number.isSafeInteger(value)) {
        violations.push({ holder: this, key, message: 'integer is outside the safe range ±(2^53 - 1); send it as a string' });
      }
    }
    return value;
  }

  let value: unknown;
  try {
    value = JSON.parse(text, reviver);
  } catch (err) {
    if (err instanceof RangeError) throw new MalformedJsonError(`${root} is nested too deeply`);
    throw new MalformedJsonError(`${root} is not valid JSON: ${(err as Error).message}`);
  }
  if (violations.length > 0) {
    const errors: FieldError[] = violations.map((v) => ({
      path: formatPath(root, pathTo(parents, v.holder, v.key)),
      message: v.message,
    }));
    throw new ValidationError(`${root} contains values that are not accepted`, { errors });
  }
  return value;
}

function pathTo(
  parents: WeakMap<object, { holder: object; key: string }>,
  holder: object,
  key: string,
): (string | number)[] {
  const segments: (string | number)[] = [];
  let current: { holder: object; key: string } | undefined = { holder, key };
  // The root value's entry has key '' (its holder is JSON.parse's wrapper).
  while (current && current.key !== '') {
    segments.push(Array.isArray(current.holder) ? Number(current.key) : current.key);
    current = parents.get(current.holder);
  }
  return segments.reverse();
}
