import { randomBytes, randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Role } from '@shop/platform';
import type { ServiceUnderTest } from '@shop/platform/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { IN_PROCESS_SERVICES } from './support/in-process-services';

type JsonSchema = {
  $ref?: string;
  type?: string;
  format?: string;
  pattern?: string;
  enum?: unknown[];
  const?: unknown;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  items?: JsonSchema;
  properties?: Record<string, JsonSchema>;
  required?: string[];
  anyOf?: JsonSchema[];
  oneOf?: JsonSchema[];
};
interface Parameter {
  name: string;
  in: 'path' | 'query' | 'header';
  required: boolean;
  schema: JsonSchema;
}
interface Operation {
  parameters?: Parameter[];
  requestBody?: { content: Record<string, { schema: JsonSchema }> };
  responses: Record<string, unknown>;
  security?: unknown[];
  'x-roles'?: Role[];
}
interface OpenApiDocument {
  paths: Record<string, Record<string, Operation>>;
  components: { schemas: Record<string, JsonSchema> };
}

/** A status one request got from one operation (`path` as the document names it). */
interface Observation {
  method: string;
  path: string;
  probe: string;
  status: number;
}

/** Each observed status its operation's document does not list: `METHOD path -> status not documented (probe)`. */
function undocumented(doc: OpenApiDocument, observed: readonly Observation[]): string[] {
  const lines = observed.flatMap((o) => {
    const operation = doc.paths[o.path]?.[o.method.toLowerCase()];
    if (!operation) return [`${o.method} ${o.path} -> the document has no such operation (${o.probe})`];
    return String(o.status) in operation.responses ? [] : [`${o.method} ${o.path} -> ${o.status} not documented (${o.probe})`];
  });
  return [...new Set(lines)];
}

const FIXTURES = path.join(path.dirname(fileURLToPath(import.meta.url)), 'fixtures/openapi');
const ROLES: readonly Role[] = ['customer', 'admin'];
const BODY_METHODS = new Set(['post', 'put', 'patch']);
/** Over the kit's default body limit (1 MB); no route raises it. */
const OVERSIZED = JSON.stringify({ pad: 'x'.repeat(1_500_000) });

/** What each probe must get, whatever the operation: the kit answers it before any handler runs. */
const KIT_ANSWERS: Record<string, number> = {
  'no token': 401,
  'wrong role': 403,
  'malformed JSON': 400,
  'wrong content-type': 415,
  'oversized body': 413,
  'schema-invalid body': 400,
  'malformed id': 400,
  'undecodable id': 400,
  'bad parameter': 400,
  'missing required parameter': 400,
  'no idempotency key': 400,
  'idempotency key reused for another request': 422,
};

/**
 * Values from the document's schemas: an example valid under the schema
 * (fresh ids, `variant` making a different one), or one its parameter
 * refuses. A pattern gets the first of a few domain-shaped candidates that
 * matches it (a SKU, a currency, a saga id, an ETag).
 */
class Examples {
  constructor(private readonly doc: OpenApiDocument) {}

  private resolve(schema: JsonSchema): JsonSchema {
    let s = schema;
    while (s.$ref) s = this.doc.components.schemas[s.$ref.split('/').pop()!] ?? {};
    return s.anyOf?.find((a) => a.type !== 'null') ?? s.oneOf?.[0] ?? s;
  }

  valid(schema: JsonSchema, variant = 0, dateIndex = 0): unknown {
    const s = this.resolve(schema);
    if (s.const !== undefined) return s.const;
    if (s.enum) return s.enum[0];
    switch (s.type) {
      case 'object': {
        // The required properties; all of them when none is (a change of at least one field, say).
        const names = s.required?.length ? s.required : Object.keys(s.properties ?? {});
        return Object.fromEntries(names.map((k) => [k, this.valid(s.properties?.[k] ?? {}, variant)]));
      }
      case 'array':
        return Array.from({ length: Math.max(1, s.minItems ?? 1) }, () => this.valid(s.items ?? {}, variant));
      case 'integer':
      case 'number':
        return Math.min((s.minimum ?? 0) + 1 + variant, s.maximum ?? Number.MAX_SAFE_INTEGER);
      case 'boolean':
        return true;
      default:
        return this.string(s, variant, dateIndex);
    }
  }

  private string(s: JsonSchema, variant: number, dateIndex: number): string {
    // Successive date-time parameters make a range that ends an hour after it starts.
    if (s.format === 'date-time') return new Date(Date.now() - 3_600_000 + dateIndex * 3_600_000).toISOString();
    if (s.format === 'uuid') return randomUUID();
    if (s.pattern) {
      const pattern = new RegExp(s.pattern);
      const candidates = [`T${randomBytes(4).toString('hex').toUpperCase()}`, 'EUR', `place-order-${randomUUID()}`, randomUUID(), '"1"'];
      const found = candidates.find((c) => pattern.test(c));
      if (!found) throw new Error(`no example matches the pattern ${s.pattern}`);
      return found;
    }
    const text = `example ${variant}`;
    return text.padEnd(s.minLength ?? 0, 'x').slice(0, s.maxLength ?? text.length);
  }

  /** A value the parameter refuses, or undefined when its schema refuses none that can be written. */
  invalid(schema: JsonSchema): string | undefined {
    const s = this.resolve(schema);
    if (s.enum) return 'no-such-value';
    if (s.type === 'integer' || s.type === 'number') return 'not-a-number';
    if (s.format === 'date-time') return 'yesterday';
    if (s.format === 'uuid' || s.pattern) return 'not an id!';
    if (s.maxLength !== undefined) return 'x'.repeat(s.maxLength + 1);
    return undefined;
  }
}

interface Probe {
  name: string;
  path: string;
  query: Record<string, string>;
  headers: Record<string, string>;
  body?: string;
  /** Whose token the request carries; none for `null`. */
  role: Role | null;
}

/**
 * The requests sent to one operation, in order (a key reused, a create
 * sent twice, come after the first request). Each carries what the
 * operation requires (a token with a role it admits, its required
 * parameters, a valid body, an idempotency key) but for what it probes.
 */
function probesOf(method: string, template: string, op: Operation, examples: Examples): Probe[] {
  const parameters = op.parameters ?? [];
  const inPath = parameters.filter((p) => p.in === 'path');
  const others = parameters.filter((p) => p.in !== 'path' && p.name.toLowerCase() !== 'idempotency-key');
  const idempotent = parameters.some((p) => p.name.toLowerCase() === 'idempotency-key');
  const roles = op['x-roles'] ?? [];
  const secured = (op.security ?? []).length > 0;
  const fill = (value: (p: Parameter) => string) => inPath.reduce((t, p) => t.replace(`{${p.name}}`, value(p)), template);
  const knownPath = fill((p) => encodeURIComponent(String(examples.valid(p.schema))));
  const required: Record<'query' | 'header', Record<string, string>> = { query: {}, header: {} };
  let dates = 0;
  for (const p of others.filter((q) => q.required)) {
    required[p.in as 'query' | 'header'][p.name] = String(examples.valid(p.schema, 0, p.schema.format === 'date-time' ? dates++ : 0));
  }
  const bodySchema = op.requestBody?.content['application/json']?.schema;
  const validBody = (variant = 0) => (bodySchema ? JSON.stringify(examples.valid(bodySchema, variant)) : undefined);
  const first = validBody();

  const request = (name: string, o: { path?: string; query?: Record<string, string>; headers?: Record<string, string>; body?: string | undefined; role?: Role | null; key?: string | null } = {}): Probe => {
    const body = 'body' in o ? o.body : first;
    const key = o.key === undefined ? (idempotent ? randomUUID() : null) : o.key;
    return {
      name,
      path: o.path ?? knownPath,
      query: o.query ?? required.query,
      headers: { ...required.header, ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...(key ? { 'idempotency-key': key } : {}), ...o.headers },
      ...(body !== undefined ? { body } : {}),
      role: o.role === undefined ? (secured ? (roles[0] ?? 'admin') : null) : o.role,
    };
  };

  const probes: Probe[] = [];
  if (secured) probes.push(request('no token', { role: null }));
  const forbidden = ROLES.find((r) => roles.length > 0 && !roles.includes(r));
  if (forbidden) probes.push(request('wrong role', { role: forbidden }));
  if (BODY_METHODS.has(method)) {
    probes.push(request('malformed JSON', { body: '{"unterminated": ' }));
    probes.push(request('wrong content-type', { body: 'hello', headers: { 'content-type': 'text/plain' } }));
    probes.push(request('oversized body', { body: OVERSIZED }));
  }
  if (bodySchema) {
    probes.push(request('schema-invalid body', { body: '[]' }));
    probes.push(request('empty object body', { body: '{}' }));
  }
  if (inPath.length > 0) {
    probes.push(request('malformed id', { path: fill(() => encodeURIComponent('not an id!')) }));
    probes.push(request('undecodable id', { path: fill(() => '%E0%A4%A') }));
  }
  for (const p of others) {
    const bad = examples.invalid(p.schema);
    if (bad === undefined) continue;
    probes.push(request('bad parameter', p.in === 'query' ? { query: { ...required.query, [p.name]: bad } } : { headers: { [p.name]: bad } }));
  }
  for (const p of others.filter((q) => q.required && q.in === 'query')) {
    probes.push(request('missing required parameter', { query: Object.fromEntries(Object.entries(required.query).filter(([name]) => name !== p.name)) }));
  }
  const main = inPath.length > 0 ? 'unknown id' : 'valid request';
  if (idempotent) {
    const key = randomUUID();
    probes.push(request('no idempotency key', { key: null }));
    probes.push(request(main, { key }));
    probes.push(request('idempotency key reused for another request', { key, body: validBody(1) }));
    probes.push(request('the same request again, with another key'));
  } else {
    probes.push(request(main));
    // A create sent twice meets the first one (a 409 where the request names the id).
    if (BODY_METHODS.has(method)) probes.push(request('the same request again'));
  }
  return probes;
}

/** The five services, each started as the stack runs it. */
const SERVICES = IN_PROCESS_SERVICES;

/**
 * Each service's OpenAPI document (`/v1/openapi.json`) must list every
 * status its operations answer. Every service is started as the stack runs
 * it (the platform's harness, a real database), and every operation its
 * document names gets the requests that provoke each kind of error: no
 * token, a role it does not admit, malformed JSON, another content type, a
 * body over the limit, a body its schema refuses, a malformed or unknown
 * id, a bad or missing parameter, idempotency keys missing and reused, and
 * a valid request (twice, for a create). Every status observed must be
 * documented for its operation, none may be a 5xx, and the errors the kit
 * answers before any handler must be the ones it is meant to answer.
 */
describe('every status a service answers is in its OpenAPI document', () => {
  const all: Observation[] = [];

  describe('the checker', () => {
    const doc = JSON.parse(fs.readFileSync(path.join(FIXTURES, 'missing-statuses.json'), 'utf8')) as OpenApiDocument;

    it('names each status an operation answered that its document leaves out', () => {
      const observed: Observation[] = [
        { method: 'GET', path: '/v1/things/{id}', probe: 'valid request', status: 200 },
        { method: 'GET', path: '/v1/things/{id}', probe: 'no token', status: 401 },
        { method: 'GET', path: '/v1/things/{id}', probe: 'unknown id', status: 404 },
        { method: 'POST', path: '/v1/things', probe: 'wrong content-type', status: 415 },
        { method: 'POST', path: '/v1/things', probe: 'oversized body', status: 413 },
        { method: 'POST', path: '/v1/things', probe: 'another oversized body', status: 413 },
        { method: 'DELETE', path: '/v1/things', probe: 'unknown method', status: 405 },
      ];
      expect(undocumented(doc, observed)).toEqual([
        'GET /v1/things/{id} -> 404 not documented (unknown id)',
        'POST /v1/things -> 415 not documented (wrong content-type)',
        'POST /v1/things -> 413 not documented (oversized body)',
        'POST /v1/things -> 413 not documented (another oversized body)',
        'DELETE /v1/things -> the document has no such operation (unknown method)',
      ]);
    });

    it('passes when every status is documented', () => {
      expect(undocumented(doc, [{ method: 'GET', path: '/v1/things/{id}', probe: 'no token', status: 401 }])).toEqual([]);
    });
  });

  describe.each(SERVICES)('$name', ({ name, start }) => {
    let svc: ServiceUnderTest;
    const tokens = new Map<Role, string>();

    beforeAll(async () => {
      svc = await start(`openapi_${name.replace(/-service$/, '')}`);
      for (const role of ROLES) tokens.set(role, await svc.token(role));
    });
    afterAll(async () => {
      await svc?.stop();
    });

    it('answers each probe of each documented operation with a status the document lists for it', { timeout: 120_000 }, async () => {
      const res = await fetch(`${svc.url}/v1/openapi.json`);
      expect(res.status).toBe(200);
      const doc = (await res.json()) as OpenApiDocument;
      const examples = new Examples(doc);
      const observed: Observation[] = [];
      const wrongKitAnswers: string[] = [];

      for (const [template, item] of Object.entries(doc.paths)) {
        for (const [method, op] of Object.entries(item)) {
          for (const probe of probesOf(method, template, op, examples)) {
            const token = probe.role ? tokens.get(probe.role) : undefined;
            const search = new URLSearchParams(probe.query).toString();
            const answer = await fetch(`${svc.url}${probe.path}${search ? `?${search}` : ''}`, {
              method: method.toUpperCase(),
              headers: { ...probe.headers, ...(token ? { authorization: `Bearer ${token}` } : {}) },
              ...(probe.body !== undefined ? { body: probe.body } : {}),
            });
            await answer.arrayBuffer();
            observed.push({ method: method.toUpperCase(), path: template, probe: probe.name, status: answer.status });
            const expected = KIT_ANSWERS[probe.name];
            if (expected !== undefined && answer.status !== expected) {
              wrongKitAnswers.push(`${method.toUpperCase()} ${template} -> ${answer.status}, not ${expected} (${probe.name})`);
            }
          }
        }
      }
      all.push(...observed);

      expect(undocumented(doc, observed)).toEqual([]);
      // Client errors are never a 500.
      expect(observed.filter((o) => o.status >= 500).map((o) => `${o.method} ${o.path} -> ${o.status} (${o.probe})`)).toEqual([]);
      expect(wrongKitAnswers).toEqual([]);
    });
  });

  it('the probes provoked every kind of answer they aim at, across the services', () => {
    const statuses = new Set(all.map((o) => o.status));
    for (const status of [200, 201, 202, 400, 401, 403, 404, 409, 413, 415, 422]) expect(statuses, `no probe was answered ${status}`).toContain(status);
  });
});
