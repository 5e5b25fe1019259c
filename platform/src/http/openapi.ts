import { STATUS_CODES } from 'node:http';
import { isDeepStrictEqual } from 'node:util';
import { z } from 'zod';
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
      responses[status] = {
        description: STATUS_CODES[Number(status)] ?? status,
        ...(schema ? { content: { 'application/json': { schema: schemas.convert(schema, 'output') } } } : {}),
      };
    }
    const problems: number[] = [400, 500];
    if (route.auth !== 'public') problems.push(401, 403);
    if (request.body) problems.push(413, 415);
    if (route.idempotent) problems.push(409, 422);
    for (const status of problems.sort((a, b) => a - b)) {
      responses[String(status)] ??= { description: STATUS_CODES[status] ?? String(status), content: problemContent };
    }

    const operation: Record<string, unknown> = {
      operationId: route.operationId ?? operationIdOf(route.method, path),
      summary: route.summary,
      ...(route.description ? { description: route.description } : {}),
      ...(route.tags ? { tags: route.tags } : {}),
      ...(parameters.length > 0 ? { parameters } : {}),
      ...(request.body
        ? { requestBody: { required: true, content: { 'application/json': { schema: schemas.convert(request.body, 'input') } } } }
        : {}),
      responses,
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
