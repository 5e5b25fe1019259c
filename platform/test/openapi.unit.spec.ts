import { describe, expect, it } from 'vitest';
import { z } from 'zod';
import { openApiDocument } from '../src/http/openapi';
import { problemSchema } from '../src/http/problem';
import { defineRoute, type Route } from '../src/http/routes';

const item = z.object({ id: z.string() }).meta({ id: 'Item' });
const info = { title: 'openapi-test', version: '1' };

function operation(route: Route): { responses: Record<string, { description: string; content?: Record<string, unknown> }>; requestBody?: { required: boolean } } {
  const doc = openApiDocument([route], info);
  const path = Object.values(doc.paths)[0]!;
  return path[route.method.toLowerCase()] as ReturnType<typeof operation>;
}
const statuses = (route: Route) => Object.keys(operation(route).responses).map(Number);

describe('the OpenAPI document lists every status a route can answer', () => {
  it('a public read without parameters: its response, a request head over the limit, or an unexpected failure', () => {
    const route = defineRoute({ method: 'GET', path: '/items', summary: 'List', auth: 'public', responses: { 200: item }, handler: () => ({ status: 200, body: { id: 'x' } }) });
    expect(statuses(route)).toEqual([200, 431, 500, 503]);
  });

  it('a read for a role, with a query: 400 for the query, 401 without a token, 403 without the role', () => {
    const route = defineRoute({
      method: 'GET',
      path: '/items',
      summary: 'List',
      auth: ['admin'],
      request: { query: z.object({ limit: z.coerce.number().int().min(1).optional() }) },
      responses: { 200: item },
      handler: () => ({ status: 200, body: { id: 'x' } }),
    });
    const op = operation(route);
    expect(Object.keys(op.responses).map(Number)).toEqual([200, 400, 401, 403, 431, 500, 503]);
    expect(op.responses['403']!.description).toBe('Forbidden: the caller lacks the role admin');
    expect(op.responses['401']!.content).toEqual({ 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } });
  });

  it('a read of one resource by any caller: 404 for an unknown id, no 403 (no role is required)', () => {
    const route = defineRoute({
      method: 'GET',
      path: '/items/:id',
      summary: 'Read',
      request: { params: z.object({ id: z.uuid() }) },
      responses: { 200: item },
      handler: () => ({ status: 200, body: { id: 'x' } }),
    });
    expect(statuses(route)).toEqual([200, 400, 401, 404, 431, 500, 503]);
  });

  it('a command without a body schema still reads a JSON body: 400 malformed, 413, 415; and 409 for a conflicting change', () => {
    const route = defineRoute({
      method: 'POST',
      path: '/items/:id/archive',
      summary: 'Archive',
      auth: ['admin'],
      responses: { 202: item },
      handler: () => ({ status: 202, body: { id: 'x' } }),
    });
    const op = operation(route);
    expect(Object.keys(op.responses).map(Number)).toEqual([202, 400, 401, 403, 404, 409, 413, 415, 431, 500, 503]);
    expect(op.responses['400']!.description).toContain('not well-formed JSON');
  });

  it('a DELETE reads no body: no 413 or 415', () => {
    const route = defineRoute({
      method: 'DELETE',
      path: '/items/:id',
      summary: 'Delete',
      auth: ['admin'],
      request: { params: z.object({ id: z.uuid() }) },
      responses: { 204: null },
      handler: () => ({ status: 204 }),
    });
    expect(statuses(route)).toEqual([204, 400, 401, 403, 404, 409, 431, 500, 503]);
  });

  it('an idempotent command: 400 for a missing key, 409 while the first request runs, 422 for a key reused on another request', () => {
    const route = defineRoute({
      method: 'POST',
      path: '/items',
      summary: 'Create',
      auth: ['customer'],
      idempotent: true,
      request: { body: z.object({ name: z.string() }) },
      responses: { 201: item },
      handler: () => ({ status: 201, body: { id: 'x' } }),
    });
    const op = operation(route);
    expect(Object.keys(op.responses).map(Number)).toEqual([201, 400, 401, 403, 409, 413, 415, 422, 431, 500, 503]);
    expect(op.responses['409']!.description).toContain('Idempotency-Key is still in progress');
    expect(op.responses['422']!.description).toContain('used for a different request');
    expect(op.requestBody!.required).toBe(true);
  });

  it('a problem the definition cannot tell is declared with the Problem schema, and documented as a problem', () => {
    const route = defineRoute({
      method: 'GET',
      path: '/items',
      summary: 'List, waiting for a position',
      auth: 'public',
      responses: { 200: item, 409: problemSchema },
      handler: () => ({ status: 200, body: { id: 'x' } }),
    });
    const op = operation(route);
    expect(Object.keys(op.responses).map(Number)).toEqual([200, 409, 431, 500, 503]);
    expect(op.responses['409']!.content).toEqual({ 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } });
  });

  it('an optional body is documented as not required', () => {
    const route = defineRoute({
      method: 'POST',
      path: '/items/:id/cancel',
      summary: 'Cancel',
      auth: 'public',
      request: { body: z.object({ reason: z.string() }).optional() },
      responses: { 202: item },
      handler: () => ({ status: 202, body: { id: 'x' } }),
    });
    expect(operation(route).requestBody!.required).toBe(false);
  });
});
