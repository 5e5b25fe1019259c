import { InvalidAppendError, WrongExpectedRevisionError, type ExpectedRevision } from '../event-store';
import { ANY, MaxAppendSizeExceededError, NO_STREAM, STREAM_EXISTS, WrongExpectedVersionError, type AppendStreamState, type CurrentStreamState } from './client';

/**
 * The port's expected revisions and errors as the client's. Revisions are
 * the same numbers on both sides (EventStoreDB's convention: the first event
 * is 0); the client carries them as bigints.
 */

/** What an append expects of its stream, in the client's terms. */
export function toStreamState(expected: ExpectedRevision): AppendStreamState {
  switch (expected) {
    case 'any':
      return ANY;
    case 'no_stream':
      return NO_STREAM;
    case 'stream_exists':
      return STREAM_EXISTS;
    default:
      if (!Number.isSafeInteger(expected) || expected < 0) throw new RangeError(`expected revision ${String(expected)} is not a non-negative integer`);
      return BigInt(expected);
  }
}

/**
 * A stream's revision as the port reports it: -1 when it has no events. The
 * server reports a deleted or tombstoned stream with a negative revision, and
 * a missing one as `no_stream`: all are "no stream" to the port.
 */
export function fromCurrentState(state: CurrentStreamState | undefined): number {
  if (state === undefined || state === NO_STREAM || state < 0n) return -1;
  if (state > BigInt(Number.MAX_SAFE_INTEGER)) throw new RangeError(`revision ${state} is beyond what this adapter can represent`);
  return Number(state);
}

/** An append's failure as the port's error: a revision conflict (409), an oversized append (400); anything else as it came. */
export function mapAppendError(err: unknown, streamId: string, expected: ExpectedRevision): unknown {
  if (err instanceof WrongExpectedVersionError) return new WrongExpectedRevisionError(streamId, expected, fromCurrentState(err.actualState));
  if (err instanceof MaxAppendSizeExceededError) {
    return new InvalidAppendError(`events: larger than the server's maximum append size (${err.maxAppendSize} bytes)`, { field: 'events' });
  }
  return err;
}
