import { z } from 'zod';
import { eventCodec } from '../event-store/event-codec';
import type { Aggregate } from '../event-store/unit-of-work';

/**
 * What operators did with one dead letter, as events on its own stream
 * (`deadLetter-<id>`, in the consuming service's event store): who did it,
 * why, and what came of it. Pure: no I/O.
 *
 * - `DeadLetterReplayed`: handed to its consumer again through the normal
 *   message path and inbox; `outcome` is `handled` (applied now) or
 *   `already-handled` (the inbox had it: applied before, not again).
 * - `DeadLetterReplayFailed`: handed again and rejected again (the fix is
 *   not there yet); the letter stays pending.
 * - `DeadLetterSkipped`: an operator decided it will never be applied.
 *
 * A replayed or skipped letter is settled: any further action is refused.
 */
export type DeadLetterAction =
  | { type: 'DeadLetterReplayed'; by: string; reason: string; outcome: 'handled' | 'already-handled'; at: string }
  | { type: 'DeadLetterReplayFailed'; by: string; reason: string; error: string; at: string }
  | { type: 'DeadLetterSkipped'; by: string; reason: string; at: string };

export type DeadLetterStatus = 'pending' | 'replayed' | 'skipped';

export interface DeadLetterActionsState {
  status: DeadLetterStatus;
  actions: DeadLetterAction[];
}

const who = { by: z.string().min(1), reason: z.string().min(1), at: z.string() };

export const deadLetterActions: Aggregate<DeadLetterActionsState, DeadLetterAction> = {
  initialState: { status: 'pending', actions: [] },
  evolve: (state, action) => ({
    status: action.type === 'DeadLetterReplayed' ? 'replayed' : action.type === 'DeadLetterSkipped' ? 'skipped' : state.status,
    actions: [...state.actions, action],
  }),
  codec: eventCodec<DeadLetterAction>({
    DeadLetterReplayed: z.object({ ...who, outcome: z.enum(['handled', 'already-handled']) }),
    DeadLetterReplayFailed: z.object({ ...who, error: z.string() }),
    DeadLetterSkipped: z.object(who),
  }),
};

/** The stream of a dead letter's actions; the `deadLetter` category no projection or relay of a service reads. */
export function deadLetterStream(id: string): string {
  return `deadLetter-${id}`;
}

export class DeadLetterSettledError extends Error {
  constructor(
    readonly id: string,
    readonly status: DeadLetterStatus,
  ) {
    super(`dead letter ${id} is already ${status}`);
    this.name = 'DeadLetterSettledError';
  }
}

/** Refuses an action on a settled letter (replayed or skipped). */
export function assertPending(id: string, state: DeadLetterActionsState): void {
  if (state.status !== 'pending') throw new DeadLetterSettledError(id, state.status);
}
