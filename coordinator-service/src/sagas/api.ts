import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { commitWork, defineRoute, integerParameter, NotFoundError, type EventStore, type Route, type StreamStateCache } from '@shop/platform';
import type { Knex } from 'knex';
import { sagaGraph } from './graph';
import { listSagas, listStuckSagas } from './read-models/saga-list/query';
import { currentStep, pendingDeadline, reasonOf, sagaCodec, type SagaType } from './saga-state';
import type { Sagas } from './sagas';

const SAGA_ID = /^(place-order|cancel-order)-([0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12})$/;

const SagaSummary = z
  .object({
    id: z.string(),
    type: z.string(),
    orderId: z.string(),
    status: z.string(),
    step: z.string().nullable(),
    reason: z.string().nullable(),
    pendingDeadline: z.string().nullable(),
    startedAt: z.string(),
    updatedAt: z.string(),
    endedAt: z.string().nullable(),
  })
  .meta({ id: 'SagaSummary' });
const SagaPage = z.object({ items: z.array(SagaSummary), nextCursor: z.string().nullable() }).meta({ id: 'SagaPage' });

const SagaView = z
  .object({
    id: z.string(),
    type: z.enum(['place-order', 'cancel-order']),
    orderId: z.string(),
    status: z.string(),
    currentStep: z.string().nullable(),
    attempt: z.number(),
    sends: z.number(),
    reason: z.string().nullable(),
    pendingDeadline: z.object({ id: z.string(), step: z.string(), dueAt: z.string() }).nullable(),
    graph: z.object({
      type: z.string(),
      current: z.string(),
      nodes: z.array(z.object({ id: z.string(), kind: z.string(), command: z.string().optional(), mark: z.enum(['done', 'current', 'pending']) })),
      edges: z.array(z.object({ from: z.string(), to: z.string(), on: z.string() })),
    }),
    history: z.array(z.object({ revision: z.number(), type: z.string(), data: z.unknown(), recordedAt: z.string() })),
  })
  .meta({ id: 'Saga' });

const ListQuery = z.object({
  status: z.enum(['running', 'compensating', 'completed', 'rejected', 'cancelled', 'failed']).optional(),
  type: z.enum(['place-order', 'cancel-order']).optional(),
  /** Milliseconds: only sagas started longer ago than this. */
  olderThan: integerParameter(z.number().int().min(0)).optional(),
  limit: integerParameter(z.number().int().min(1).max(100)).default(20),
  cursor: z.string().min(1).max(200).optional(),
});
const PageQuery = z.object({ limit: integerParameter(z.number().int().min(1).max(100)).default(20), cursor: z.string().min(1).max(200).optional() });
const IdParams = z.object({ id: z.string().regex(SAGA_ID, 'a saga id: place-order-<orderId> or cancel-order-<orderId>') });
const AbortBody = z.object({ reason: z.string().min(1).max(300).optional() }).optional();

function parseId(id: string): { type: SagaType; orderId: string } {
  const match = SAGA_ID.exec(id)!;
  return { type: match[1] as SagaType, orderId: match[2]! };
}

export function sagaRoutes(deps: { sagas: Sagas; db: Knex; store: EventStore; cache?: StreamStateCache; stuckAfterMs: number; now: () => Date }): Route[] {
  const { sagas, db } = deps;
  /** An operator's request, decided and committed alone (decided again if the saga moved meanwhile). */
  const request = (id: string, input: Parameters<Sagas['apply']>[3]) => {
    const { type, orderId } = parseId(id);
    return commitWork(deps.store, { key: randomUUID(), metadata: { correlationId: id } }, (work) => sagas.apply(work, type, orderId, input), {
      ...(deps.cache ? { cache: deps.cache } : {}),
    });
  };

  async function view(id: string): Promise<z.infer<typeof SagaView>> {
    const { state, history } = await sagas.load(id);
    if (history.length === 0) throw new NotFoundError(`saga ${id} does not exist`, { sagaId: id });
    const { type, orderId } = parseId(id);
    const at = currentStep(state);
    return {
      id,
      type,
      orderId,
      status: state.status,
      currentStep: at?.step ?? null,
      attempt: at?.attempt ?? 0,
      sends: at?.sends ?? 0,
      reason: reasonOf(state) ?? null,
      pendingDeadline: pendingDeadline(state) ?? null,
      graph: sagaGraph(type, state),
      history: history.map((e) => {
        const { type: eventType, ...data } = sagaCodec.decode(e);
        return { revision: e.revision, type: eventType, data, recordedAt: e.recordedAt.toISOString() };
      }),
    };
  }

  return [
    defineRoute({
      method: 'GET',
      path: '/sagas',
      summary: 'List sagas',
      description: 'Newest first, filtered by status, type and age (olderThan, in milliseconds since the saga started).',
      tags: ['sagas'],
      auth: ['admin'],
      request: { query: ListQuery },
      responses: { 200: SagaPage },
      handler: async ({ query }) => ({
        status: 200,
        body: await listSagas(db, {
          limit: query.limit,
          now: deps.now(),
          ...(query.status ? { status: query.status } : {}),
          ...(query.type ? { type: query.type } : {}),
          ...(query.olderThan !== undefined ? { olderThanMs: query.olderThan } : {}),
          ...(query.cursor ? { cursor: query.cursor } : {}),
        }),
      }),
    }),
    defineRoute({
      method: 'GET',
      path: '/sagas/stuck',
      summary: 'List stuck sagas',
      description: 'Failed sagas, and sagas not ended SAGA_STUCK_AFTER_MS after they started.',
      tags: ['sagas'],
      auth: ['admin'],
      request: { query: PageQuery },
      responses: { 200: SagaPage },
      handler: async ({ query }) => ({
        status: 200,
        body: await listStuckSagas(db, { stuckAfterMs: deps.stuckAfterMs, limit: query.limit, now: deps.now(), ...(query.cursor ? { cursor: query.cursor } : {}) }),
      }),
    }),
    defineRoute({
      method: 'GET',
      path: '/sagas/:id',
      summary: 'Read a saga',
      description: 'Current step, pending deadline, full history (read from its stream, always consistent) and the graph of its steps.',
      tags: ['sagas'],
      auth: ['admin'],
      request: { params: IdParams },
      responses: { 200: SagaView },
      handler: async ({ params }) => ({ status: 200, body: await view(params.id) }),
    }),
    defineRoute({
      method: 'POST',
      path: '/sagas/:id/retry',
      summary: 'Retry the current step',
      description: 'Re-issues the current step’s command as a new attempt (a new command id). 409 when the saga has ended.',
      tags: ['sagas'],
      auth: ['admin'],
      request: { params: IdParams },
      responses: { 202: SagaView },
      handler: async ({ params, auth }) => {
        await assertExists(sagas, params.id);
        await request(params.id, { type: 'RetryRequested', by: auth.subject });
        return { status: 202, body: await view(params.id) };
      },
    }),
    defineRoute({
      method: 'POST',
      path: '/sagas/:id/abort',
      summary: 'Abort with compensation',
      description: 'Compensates what succeeded and rejects the order. 409 past the pivot (cancel the order instead) or when already compensating or ended.',
      tags: ['sagas'],
      auth: ['admin'],
      request: { params: IdParams, body: AbortBody },
      responses: { 202: SagaView },
      handler: async ({ params, body, auth }) => {
        await assertExists(sagas, params.id);
        await request(params.id, { type: 'AbortRequested', by: auth.subject, ...(body?.reason ? { reason: body.reason } : {}) });
        return { status: 202, body: await view(params.id) };
      },
    }),
  ];
}

async function assertExists(sagas: Sagas, id: string): Promise<void> {
  const { history } = await sagas.load(id);
  if (history.length === 0) throw new NotFoundError(`saga ${id} does not exist`, { sagaId: id });
}
