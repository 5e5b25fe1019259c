/**
 * The only module that imports the EventStoreDB client. EventStoreDB is now
 * KurrentDB, and its Node client is published as `@kurrent/kurrentdb-client`
 * (the successor of `@eventstore/db-client`, which stopped at 6.2.1 in
 * December 2024). The successor is pinned because only it has what the
 * port's `commit` needs: `appendRecords`, an atomic append across streams
 * with consistency checks on streams only read (KurrentDB ≥ 26.1), and
 * server-side filters on `readAll`. It is not a drop-in rename: the client
 * class, the append option (`expectedRevision` → `streamState`) and the
 * error fields (`expectedState`, `actualState`) changed, so switching back
 * means this module and the option and fields it wraps, nothing else.
 * See docs/eventstoredb.md.
 */
export {
  ANY,
  AppendConsistencyViolationError,
  AppendRecordSizeExceededError,
  BACKWARDS,
  DeadlineExceededError,
  END,
  FORWARDS,
  KurrentDBClient as EventStoreDbClient,
  NO_STREAM,
  START,
  STREAM_EXISTS,
  STREAM_STATE,
  StreamNotFoundError,
  MaxAppendSizeExceededError,
  TimeoutError,
  TransactionMaxSizeExceededError,
  UnsupportedError,
  WrongExpectedVersionError,
  eventTypeFilter,
  jsonEvent,
  streamNameFilter,
} from '@kurrent/kurrentdb-client';
export type { AppendStreamState, ConsistencyCheck, CurrentStreamState, Position } from '@kurrent/kurrentdb-client';
import type { AllStreamRecordedEvent, RecordedEvent } from '@kurrent/kurrentdb-client';
/** An event as the client reads it, from a stream or from `$all`. */
export type ServerRecordedEvent = AllStreamRecordedEvent | RecordedEvent;
