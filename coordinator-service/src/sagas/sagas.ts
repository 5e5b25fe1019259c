import type { Knex } from 'knex';
import {
  DuplicateEventIdError,
  deterministicId,
  executeCommand,
  type Clock,
  type EventMetadata,
  type EventStore,
  type RecordedEvent,
} from '@shop/platform';
import { decideCancelOrder } from './cancel-order';
import { decidePlaceOrder } from './place-order';
import {
  evolve,
  initialState,
  isTerminal,
  sagaDecider,
  sagaId,
  sagaStreamId,
  type DeadlineSettings,
  type SagaEvent,
  type SagaInput,
  type SagaState,
  type SagaType,
} from './saga';

const DECIDERS = { 'place-order': decidePlaceOrder, 'cancel-order': decideCancelOrder } as const;

export interface InputContext {
  /** What the input's event ids derive from (the envelope id, the deadline id): a re-run appends nothing twice. Random ids when absent. */
  key?: string;
  metadata?: EventMetadata;
}

export const toSagaEvent = (e: RecordedEvent): SagaEvent => ({ type: e.type, ...(e.data as object) }) as SagaEvent;

/**
 * Runs inputs through the sagas: load the saga stream, decide, append with
 * the revision read (retried on conflicts, so two coordinator instances
 * handling replies of one order serialise on the stream), then bring the
 * durable deadline table in line with the saga's state.
 */
export class Sagas {
  constructor(
    private readonly store: EventStore,
    private readonly db: Knex,
    private readonly clock: Clock,
    private readonly settings: DeadlineSettings,
  ) {}

  async apply(type: SagaType, orderId: string, input: SagaInput, context: InputContext = {}): Promise<SagaState> {
    const id = sagaId(type, orderId);
    const key = context.key;
    try {
      await executeCommand({
        store: this.store,
        streamId: sagaStreamId(id),
        decider: sagaDecider,
        decide: (state) => DECIDERS[type](state, input, { sagaId: id, now: this.clock.now().toISOString(), deadlines: this.settings, id: deterministicId }),
        ...(key ? { eventId: (i: number) => deterministicId(key, id, i) } : {}),
        ...(context.metadata ? { metadata: context.metadata } : {}),
      });
    } catch (err) {
      // The same input decided again after the saga moved on reuses the ids of its first (committed) decision.
      if (!(err instanceof DuplicateEventIdError)) throw err;
    }
    return this.syncDeadline(type, orderId);
  }

  async load(id: string): Promise<{ state: SagaState; history: RecordedEvent[] }> {
    const history = await this.store.readStream(sagaStreamId(id));
    return { state: history.map(toSagaEvent).reduce(evolve, initialState), history };
  }

  /**
   * A cancellation first reaches the place-order saga (which stops and
   * compensates when it is before its pivot), then starts the cancel-order
   * saga with what the place-order saga looks like after that.
   */
  async requestCancellation(input: Extract<SagaInput, { type: 'CancellationRequested' }>, context: InputContext): Promise<void> {
    const placeOrder = await this.apply('place-order', input.orderId, input, context);
    const snapshot = placeOrder.status === 'new' ? null : { status: placeOrder.status, phase: placeOrder.phase, ...(placeOrder.step ? { step: placeOrder.step } : {}) };
    await this.apply('cancel-order', input.orderId, { ...input, placeOrder: snapshot }, context);
    await this.reconcileCancellation(input.orderId, context);
  }

  /**
   * A cancel-order saga waiting for the place-order saga goes on once that
   * completed. Called after both a completion and a cancellation, so
   * whichever of the two lands last moves the waiting saga on.
   */
  async reconcileCancellation(orderId: string, context: InputContext = {}): Promise<void> {
    const [placeOrder, cancel] = await Promise.all([this.load(sagaId('place-order', orderId)), this.load(sagaId('cancel-order', orderId))]);
    if (placeOrder.state.status !== 'completed' || cancel.state.step !== 'waiting-for-place-order' || isTerminal(cancel.state)) return;
    await this.apply('cancel-order', orderId, { type: 'PlaceOrderCompleted' }, {
      key: deterministicId('place-order-completed', orderId),
      ...(context.metadata ? { metadata: context.metadata } : {}),
    });
  }

  /**
   * Writes the saga's pending deadline, from the stream as it is now, under
   * a per-saga lock: the last writer has read the last state, so a slower
   * writer holding an older state cannot win. A deadline left behind by an
   * older state is harmless: when it fires, the saga ignores it.
   */
  private async syncDeadline(type: SagaType, orderId: string): Promise<SagaState> {
    const id = sagaId(type, orderId);
    return this.db.transaction(async (trx) => {
      await trx.raw('select pg_advisory_xact_lock(hashtext(?))', [id]);
      const { state } = await this.load(id);
      if (state.deadline) {
        await trx('saga_deadlines')
          .insert({ deadline_id: state.deadline.id, saga_id: id, saga_type: type, order_id: orderId, step: state.deadline.step, due_at: state.deadline.dueAt })
          .onConflict('deadline_id')
          .ignore();
      }
      if (isTerminal(state)) {
        // SKIP LOCKED: the row the deadline poller is firing right now is its to mark (it holds the lock while this runs).
        await trx.raw(
          `update saga_deadlines set status = 'cancelled'
           where deadline_id in (select deadline_id from saga_deadlines where saga_id = ? and status = 'pending' for update skip locked)`,
          [id],
        );
      }
      return state;
    });
  }
}
