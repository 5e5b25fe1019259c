import type { LogFilter } from '../event-store';

/**
 * The stream names a service's events have on an EventStoreDB server. Port
 * stream ids (and so categories) are always unprefixed; on the server each is
 * `prefix + id`, so that several services can share one server without
 * reading each other's streams. Inbox markers (one small stream per handled
 * message) live under `prefix + 'inbox~'`, never in the port's log.
 */
export class StreamNames {
  static readonly INBOX = 'inbox~';

  constructor(readonly prefix = '') {
    if (prefix.startsWith('$')) throw new RangeError(`stream prefix ${prefix} starts with $ (reserved for system streams)`);
  }

  of(streamId: string): string {
    return this.prefix + streamId;
  }

  /** The port's stream id of a server stream name; undefined for a stream outside this prefix or an inbox stream. */
  strip(name: string): string | undefined {
    if (!name.startsWith(this.prefix)) return undefined;
    const id = name.slice(this.prefix.length);
    return id.startsWith(StreamNames.INBOX) || id.startsWith('$') ? undefined : id;
  }

  inbox(consumer: string, messageId: string): string {
    return `${this.prefix}${StreamNames.INBOX}${consumer}~${messageId}`;
  }
}

/** A literal for a .NET (and JavaScript) regular expression. */
export function escapeRegex(text: string): string {
  return text.replace(/[\\^$.|?*+()[\]{}#\s-]/g, (c) => (/\s/.test(c) ? `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}` : `\\${c}`));
}

/**
 * The stream-name regex a read sends to the server: this prefix's streams,
 * never system or inbox streams, narrowed by the filter's categories (the
 * part of the id before the first `-`, or the whole id) and stream prefix.
 * Event types are not part of it (a server filter is on names or on types,
 * never both): `typesRegex` when the name regex is not needed, else the
 * caller filters types itself. Only anchors, lookaheads, alternation and
 * escapes, which .NET and JavaScript read alike.
 */
export function streamNameRegex(names: StreamNames, filter: Pick<LogFilter, 'categories' | 'streamPrefix'> = {}): string {
  let pattern = `^(?!\\$)${escapeRegex(names.prefix)}(?!${escapeRegex(StreamNames.INBOX)}|\\$)`;
  if (filter.categories && filter.categories.length > 0) {
    pattern += `(?=(?:${filter.categories.map(escapeRegex).join('|')})(?:-|$))`;
  }
  if (filter.streamPrefix) pattern += `(?=${escapeRegex(filter.streamPrefix)})`;
  return pattern;
}

/** The event-type regex for a types filter: exactly those types (so no `$` system or inbox record either). */
export function typesRegex(types: readonly string[]): string {
  return `^(?:${types.map(escapeRegex).join('|')})$`;
}

/**
 * Whether the server can apply the whole filter as an event-type filter: no
 * prefix to keep (inbox and other services' streams are then told apart by
 * their types), no category or stream prefix, some types.
 */
export function typesOnlyOnServer(names: StreamNames, filter: LogFilter | undefined): boolean {
  return names.prefix === '' && !!filter?.types?.length && !filter.categories?.length && !filter.streamPrefix;
}
