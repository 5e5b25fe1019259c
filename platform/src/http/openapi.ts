import { STATUS_CODES } from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
import { MAX_REQUEST_HEAD_BYTES } from './http-server';
import { IDEMPOTENCY_KEY_HEADER } from './idempotency';
import { PROBLEM_CONTENT_TYPE, problemSchema } from './problem';
import type { Route } from './routes';

/**
 * The OpenAPI 3.1 document of a set of routes, generated from the same zod
 * schemas the kit validates with, so the document cannot drift from the
 * behaviour. Schemas named with `.meta({ id })` become components.
 */

type JsonSchema = Record<string, unknown>;

export interface OpenApiInfo {
  title: string;
  version: string;
  description?: string;
}

export interface OpenApiDocument {
  openapi: '3.1.0';
  info: OpenApiInfo;
  paths: Record<string, Record<string, unknown>>;
  components: { schemas: Record<string, JsonSchema>; securitySchemes: Record<string, unknown> };
}

export function openApiDocument(
  routes: readonly Route[],
  info: OpenApiInfo,
  options: { version?: number } = {},
): OpenApiDocument {
  const schemas = new SchemaComponents();
  const problem = schemas.convert(problemSchema, 'output');
  const problemContent = { [PROBLEM_CONTENT_TYPE]: { schema: problem } };
  const paths: OpenApiDocument['paths'] = {};

  for (const route of routes) {
    const version = route.version ?? 1;
    if (options.version !== undefined && version !== options.version) continue;
    const path = `/v${version}${route.path.replace(/:(\w+)/g, '{$1}')}`;
    const request = route.request ?? {};
    const parameters = [
      ...schemas.parameters(request.params, 'path'),
      ...schemas.parameters(request.query, 'query'),
      ...schemas.parameters(request.headers, 'header'),
    ];
    if (route.idempotent) {
      parameters.push({
        name: IDEMPOTENCY_KEY_HEADER,
        in: 'header',
        required: true,
        description: 'Retries with the same key and request replay the first response.',
        schema: { type: 'string', minLength: 1, maxLength: 255 },
      });
    }

    const responses: Record<string, unknown> = {};
    for (const [status, schema] of Object.entries(route.responses)) {
      // A problem the kit cannot derive (a read that answers 409, say) is declared with `problemSchema`.
      const content = schema === problemSchema ? problemContent : schema ? { 'application/json': { schema: schemas.convert(schema, 'output') } } : undefined;
      responses[status] = { description: STATUS_CODES[Number(status)] ?? status, ...(content ? { content } : {}) };
    }
    for (const [status, why] of problemsOf(route)) {
      responses[String(status)] ??= { description: `${STATUS_CODES[status] ?? status}: ${why.join('; ')}`, content: problemContent };
    }
    const sorted = Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)));

    const operation: Record<string, unknown> = {
      operationId: route.operationId ?? operationIdOf(route.method, path),
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      ...(route.tags ? { tags: route.tags } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(request.body
        ? { requestBody: { required: !request.body.safeParse(undefined).success, content: { 'application/json': { schema: schemas.convert(request.body, 'input') } } } }
        : {}),
      responses: sorted,
      security: route.auth === 'public' ? [] : [{ bearerAuth: [] }],
    };
    if (Array.isArray(route.auth) && route.auth.length > 0) operation['x-roles'] = route.auth;
    paths[path] = { ...paths[path], [route.method.toLowerCase()]: operation };
  }

  return {
    openapi: '3.1.0',
    info,
    paths,
    components: {
      schemas: schemas.components,
      securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', bearerFormat: 'JWT' } },
    },
  };
}

/** The methods whose requests go through the kit's JSON body pipeline (`routersByVersion`): every one but GET and DELETE. */
const readsBody = (method: Route['method']) => method !== 'GET' && method !== 'DELETE';

/**
 * Every problem status a route can answer, with why, derived from its
 * definition as the kit runs it (routes.ts, json-body.ts, idempotency.ts,
 * the auth middleware), so that the document lists each status a client
 * may meet. What the definition cannot tell (a read that answers 409) the
 * route declares in `responses` with `problemSchema`.
 */
function problemsOf(route: Route): Map<number, string[]> {
  const request = route.request ?? {};
  const problems = new Map<number, string[]>();
  const add = (status: number, why: string) => problems.set(status, [...(problems.get(status) ?? []), why]);
  const hasPathParameters = /:\w/.test(route.path);

  if (readsBody(route.method)) add(400, 'the body is not well-formed JSON');
  if (hasPathParameters || request.params || request.query || request.headers || request.body) {
    add(400, 'a parameter or the body is invalid (`errors` names each field; no text may hold the NUL character U+0000)');
  }
  if (route.idempotent) add(400, `the ${IDEMPOTENCY_KEY_HEADER} header is missing or malformed`);
  if (route.auth !== 'public') add(401, 'no valid bearer token');
  if (Array.isArray(route.auth) && route.auth.length > 0) add(403, `the caller lacks the role ${route.auth.join(' or ')}`);
  // A path naming a resource by id: the handler's NotFoundError.
  if (hasPathParameters) add(404, 'no resource has this id');
  // A change meets the resource's state (ConflictError) or a concurrent change (ConcurrencyError).
  if (route.method !== 'GET') add(409, "the resource's state refuses the change, or it changed concurrently");
  if (route.idempotent) add(409, `a request with this ${IDEMPOTENCY_KEY_HEADER} is still in progress (see Retry-After)`);
  if (readsBody(route.method)) {
    add(413, 'the body exceeds the size limit');
    add(415, 'the body is not application/json in UTF-8');
  }
  if (route.idempotent) add(422, `the ${IDEMPOTENCY_KEY_HEADER} was used for a different request`);
  // Node's HTTP parser answers it before any route runs (http-server.ts), whatever the route.
  add(431, `the request line and headers exceed ${MAX_REQUEST_HEAD_BYTES} bytes`);
  add(500, 'an unexpected failure (quote the traceId)');
  add(503, 'the service cannot reach its database just now (see Retry-After; retrying with the same Idempotency-Key is safe)');
  return new Map([...problems].sort(([a], [b]) => a - b));
}

class SchemaComponents {
  readonly components: Record<string, JsonSchema> = {};

  /** Requests are documented as clients send them (`input`), responses as clients receive them (`output`). */
  convert(schema: z.ZodType, io: 'input' | 'output'): JsonSchema {
    const json = z.toJSONSchema(schema, { io, unrepresentable: 'any', target: 'draft-2020-12' }) as JsonSchema;
    delete json.$schema;
    const defs = (json.$defs ?? {}) as Record<string, JsonSchema>;
    delete json.$defs;
    const names = new Map<string, string>();
    for (const [id, def] of Object.entries(defs)) {
      // The same named schema can differ between input and output (defaults,
      // transforms): keep both, the input one suffixed.
      let name = id;
      if (this.components[name] && !isDeepStrictEqual(this.components[name], def)) name = `${id}_${io}`;
      names.set(id, name);
    }
    const rewrite = (value: unknown): unknown => {
      if (Array.isArray(value)) return value.map(rewrite);
      if (typeof value !== 'object' || value === null) return value;
      return Object.fromEntries(
        Object.entries(value).map(([key, v]) => {
          if (key === '$ref' && typeof v === 'string' && v.startsWith('#/$defs/')) {
            const id = v.slice('#/$defs/'.length);
            return [key, `#/components/schemas/${names.get(id) ?? id}`];
          }
          return [key, rewrite(v)];
        }),
      );
    };
    for (const [id, def] of Object.entries(defs)) {
      const name = names.get(id)!;
      const converted = rewrite(def) as JsonSchema;
      const existing = this.components[name];
      if (existing && !isDeepStrictEqual(existing, converted)) {
        throw new Error(`two different schemas are named "${id}" in the OpenAPI document`);
      }
      this.components[name] = converted;
    }
    return rewrite(json) as JsonSchema;
  }

  parameters(schema: z.ZodType | undefined, location: 'path' | 'query' | 'header'): Record<string, unknown>[] {
    if (!schema) return [];
    let json = this.convert(schema, 'input');
    if (typeof json.$ref === 'string') json = this.components[json.$ref.split('/').pop()!] ?? json;
    if (json.type !== 'object' || typeof json.properties !== 'object' || json.properties === null) {
      throw new Error(`the ${location} schema of a route must be a z.object`);
    }
    const required = new Set((json.required as string[] | undefined) ?? []);
    return Object.entries(json.properties as Record<string, JsonSchema>).map(([name, property]) => {
      const { description, ...rest } = property;
      return {
        name,
        in: location,
        required: location === 'path' || required.has(name),
        ...(typeof description === 'string' ? { description } : {}),
        schema: rest,
      };
    });
  }
}

function operationIdOf(method: string, path: string): string {
  const words = path
    .split('/')
    .filter(Boolean)
    .map((segment) => segment.replace(/[{}]/g, '').replace(/[^A-Za-z0-9]+(.)?/g, (_, c: string | undefined) => (c ?? '').toUpperCase()));
  return [method.toLowerCase(), ...words.map((w) => w.charAt(0).toUpperCase() + w.slice(1))].join('');
}
