import { z } from 'zod';
import { problemSchema } from '../http/problem';
import { defineRoute, type Route } from '../http/routes';
import { integerParameter } from '../http/validation';
import type { DeadLetterConsole } from './dead-letter-console';

const Status = z.enum(['pending', 'replayed', 'skipped']);

const Action = z.discriminatedUnion('type', [
  z.object({ type: z.literal('DeadLetterReplayed'), by: z.string(), reason: z.string(), outcome: z.enum(['handled', 'already-handled']), at: z.string() }),
  z.object({ type: z.literal('DeadLetterReplayFailed'), by: z.string(), reason: z.string(), error: z.string(), at: z.string() }),
  z.object({ type: z.literal('DeadLetterSkipped'), by: z.string(), reason: z.string(), at: z.string() }),
]);

const summaryFields = {
  id: z.string(),
  group: z.string().describe('the consumer group that dead-lettered it'),
  status: Status,
  topic: z.string().nullable().describe('where it was published'),
  partition: z.number().int().nullable(),
  offset: z.number().int().nullable(),
  key: z.string(),
  type: z.string().nullable().describe('its ce_type header, when it has one'),
  messageId: z.string().nullable().describe('its ce_id header, when it has one'),
  reason: z.string().describe('why it was dead-lettered'),
  errorName: z.string().nullable(),
  attempts: z.number().int().nullable(),
  bytes: z.number().int(),
  failedAt: z.string(),
  deadLetter: z.object({ topic: z.string(), partition: z.number().int(), offset: z.number().int() }),
};
const DeadLetterSummary = z.object(summaryFields).meta({ id: 'DeadLetterSummary' });
const DeadLetterPage = z.object({ items: z.array(DeadLetterSummary), nextCursor: z.string().nullable() }).meta({ id: 'DeadLetterPage' });
const DeadLetter = z
  .object({
    ...summaryFields,
    headers: z.record(z.string(), z.string()).describe('its original headers, and the dlq-* headers the bus added'),
    value: z.string().describe('its value (the first 64 KiB)'),
    valueTruncated: z.boolean(),
    actions: z.array(Action).describe("what operators did with it, from its stream in the service's event store"),
  })
  .meta({ id: 'DeadLetter' });

const ListQuery = z.object({
  status: z.enum(['pending', 'replayed', 'skipped', 'all']).default('pending'),
  group: z.string().min(1).max(200).optional(),
  limit: integerParameter(z.number().int().min(1).max(100)).default(20),
  cursor: z.string().regex(/^\d{1,18}$/, 'a cursor from a previous page').optional(),
});
const IdParams = z.object({ id: z.uuid() });
const ActionBody = z.object({ reason: z.string().trim().min(3, 'say why, in a few words').max(500) }).strict();

/**
 * The dead-letter console's admin routes (admin role): list, read, replay,
 * skip. Who acted is the token's subject; why is the body's `reason`.
 */
export function deadLetterRoutes(letters: DeadLetterConsole): Route[] {
  return [
    defineRoute({
      method: 'GET',
      path: '/admin/dead-letters',
      summary: 'List dead letters',
      description: "The messages this service's consumers dead-lettered, oldest first; pending ones unless `status` says otherwise.",
      tags: ['dead letters'],
      auth: ['admin'],
      request: { query: ListQuery },
      responses: { 200: DeadLetterPage },
      handler: async ({ query }) => ({
        status: 200,
        body: await letters.list({
          status: query.status,
          limit: query.limit,
          ...(query.group ? { group: query.group } : {}),
          ...(query.cursor ? { cursor: query.cursor } : {}),
        }),
      }),
    }),
    defineRoute({
      method: 'GET',
      path: '/admin/dead-letters/:id',
      summary: 'Read a dead letter',
      description: 'Its headers, value, reason and every action taken on it.',
      tags: ['dead letters'],
      auth: ['admin'],
      request: { params: IdParams },
      responses: { 200: DeadLetter },
      handler: async ({ params }) => ({ status: 200, body: await letters.get(params.id) }),
    }),
    defineRoute({
      method: 'POST',
      path: '/admin/dead-letters/:id/replay',
      summary: 'Replay a dead letter',
      description:
        'Hands it to its consumer again through the normal message path and inbox (applied at most once; `already-handled` when the inbox had it). 422 when it is rejected again (recorded as a failed replay; it stays pending); 409 when it is already replayed or skipped.',
      tags: ['dead letters'],
      auth: ['admin'],
      request: { params: IdParams, body: ActionBody },
      responses: { 200: DeadLetter, 422: problemSchema },
      handler: async ({ params, body, auth }) => ({ status: 200, body: await letters.replay(params.id, { by: auth.subject, reason: body.reason }) }),
    }),
    defineRoute({
      method: 'POST',
      path: '/admin/dead-letters/:id/skip',
      summary: 'Skip a dead letter',
      description: 'Settles it without applying it. 409 when it is already replayed or skipped.',
      tags: ['dead letters'],
      auth: ['admin'],
      request: { params: IdParams, body: ActionBody },
      responses: { 200: DeadLetter },
      handler: async ({ params, body, auth }) => ({ status: 200, body: await letters.skip(params.id, { by: auth.subject, reason: body.reason }) }),
    }),
  ];
}
