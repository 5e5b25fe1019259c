import { AccessError, problemDetail } from './api';

export interface ServerSentEvent {
  event: string;
  data: string;
  id?: string;
}

/**
 * Incremental text/event-stream parser (the WHATWG format): feed it chunks as
 * they arrive, get back the events they complete. Comments (heartbeats) are
 * dropped; lines may end in LF, CRLF or CR, split across chunks anywhere.
 */
export class EventStreamParser {
  private buffer = '';
  private event = '';
  private data: string[] = [];
  private id: string | undefined;

  push(chunk: string): ServerSentEvent[] {
    this.buffer += chunk;
    const events: ServerSentEvent[] = [];
    for (;;) {
      const end = this.buffer.search(/\r\n|\r|\n/);
      if (end === -1) break;
      // A CR at the very end may be the first half of a CRLF still in flight.
      if (this.buffer[end] === '\r' && end === this.buffer.length - 1) break;
      const line = this.buffer.slice(0, end);
      this.buffer = this.buffer.slice(end + (this.buffer.startsWith('\r\n', end) ? 2 : 1));
      const event = this.line(line);
      if (event) events.push(event);
    }
    return events;
  }

  private line(line: string): ServerSentEvent | undefined {
    if (line === '') {
      if (this.data.length === 0) {
        this.event = '';
        return undefined;
      }
      const event: ServerSentEvent = { event: this.event || 'message', data: this.data.join('\n'), ...(this.id !== undefined ? { id: this.id } : {}) };
      this.event = '';
      this.data = [];
      return event;
    }
    if (line.startsWith(':')) return undefined;
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.startsWith(' ')) value = value.slice(1);
    if (field === 'event') this.event = value;
    else if (field === 'data') this.data.push(value);
    else if (field === 'id') this.id = value;
    return undefined;
  }
}

export type StreamState = 'connecting' | 'live' | 'reconnecting';

export interface FollowOptions {
  url: string;
  headers: Record<string, string>;
  onEvent(event: ServerSentEvent): void;
  onState(state: StreamState): void;
  /** The server sends a heartbeat every 15 s: silence this long means a dead connection. */
  silenceMs?: number;
  signal: AbortSignal;
}

/**
 * Follows an event stream with fetch() rather than EventSource, which cannot
 * send an Authorization header. Reconnects with backoff after a network
 * failure or an ended stream; stops for good on 401/403 (rejects with
 * `AccessError`) or when `signal` aborts.
 */
export async function followEventStream(o: FollowOptions): Promise<void> {
  let backoffMs = 500;
  let connectedOnce = false;
  const silenceMs = o.silenceMs ?? 45_000;
  while (!o.signal.aborted) {
    const attempt = new AbortController();
    const abort = () => attempt.abort();
    o.signal.addEventListener('abort', abort);
    let watchdog: ReturnType<typeof setTimeout> | undefined;
    const resetWatchdog = () => {
      clearTimeout(watchdog);
      watchdog = setTimeout(abort, silenceMs);
    };
    try {
      o.onState(connectedOnce ? 'reconnecting' : 'connecting');
      resetWatchdog();
      const init: RequestInit & { cache?: string } = { headers: { ...o.headers, accept: 'text/event-stream' }, cache: 'no-store', signal: attempt.signal };
      const res = await fetch(o.url, init as RequestInit);
      if (res.status === 401 || res.status === 403) throw new AccessError(res.status, await problemDetail(res));
      if (!res.ok || !res.body) throw new Error(`event stream answered HTTP ${res.status}`);
      o.onState('live');
      connectedOnce = true;
      backoffMs = 500;
      const parser = new EventStreamParser();
      const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        resetWatchdog();
        for (const event of parser.push(value)) o.onEvent(event);
      }
    } catch (err) {
      if (err instanceof AccessError) throw err;
    } finally {
      clearTimeout(watchdog);
      o.signal.removeEventListener('abort', abort);
    }
    if (o.signal.aborted) return;
    o.onState('reconnecting');
    await new Promise((resolve) => setTimeout(resolve, backoffMs));
    backoffMs = Math.min(backoffMs * 2, 15_000);
  }
}
