import type { ServerResponse } from 'node:http';
import { PlatformError, type ProjectionStatus } from '@shop/platform';

/** What a `changed` event says: which projections moved, and every projection's status. */
export interface ProjectionChanges {
  /** Projections whose position, state or rebuild position moved. */
  moved: string[];
  /** True when anything moved, the archive head included (the lag shown changes). */
  changed: boolean;
}

/** Compares two polls of the projections' status. */
export function projectionChanges(before: readonly ProjectionStatus[], after: readonly ProjectionStatus[]): ProjectionChanges {
  const previous = new Map(before.map((s) => [s.name, s]));
  const moved = after
    .filter((s) => {
      const p = previous.get(s.name);
      return !p || p.position !== s.position || p.state !== s.state || p.rebuildPosition !== s.rebuildPosition;
    })
    .map((s) => s.name);
  const changed = moved.length > 0 || after.length !== before.length || after.some((s) => previous.get(s.name)?.head !== s.head);
  return { moved, changed };
}

/** One server-sent event; `data` is JSON-encoded (one line, as JSON.stringify writes it). */
export function eventFrame(event: string, data: unknown): string {
  return `event: ${event}\ndata: ${JSON.stringify(data)}\n\n`;
}

export class StreamClosedError extends PlatformError {
  readonly status = 503;
  readonly type = 'unavailable';
}

export interface ChangeStreamOptions {
  /** How often the projections' status is read while someone listens. */
  pollMs?: number;
  /** Comment lines that keep proxies and the client's watchdog from timing the stream out. */
  heartbeatMs?: number;
  /** A client this far behind (bytes not yet sent) is dropped rather than buffered. */
  maxBufferedBytes?: number;
  onError?(err: unknown): void;
}

/**
 * Server-sent events telling dashboards that projections moved. One poll
 * loop and one heartbeat timer serve every connection, and run only while
 * at least one is open; `close()` ends every stream (the service calls it
 * before draining HTTP, which would otherwise wait on them).
 */
export class ProjectionChangeStream {
  private readonly clients = new Set<ServerResponse>();
  private last: ProjectionStatus[] | undefined;
  private pollTimer: NodeJS.Timeout | undefined;
  private heartbeat: NodeJS.Timeout | undefined;
  private polling = false;
  private closed = false;
  private readonly pollMs: number;
  private readonly heartbeatMs: number;
  private readonly maxBufferedBytes: number;

  constructor(
    private readonly statuses: () => Promise<ProjectionStatus[]>,
    private readonly options: ChangeStreamOptions = {},
  ) {
    this.pollMs = options.pollMs ?? 500;
    this.heartbeatMs = options.heartbeatMs ?? 15_000;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1_000_000;
  }

  get connections(): number {
    return this.clients.size;
  }

  /** Starts an event stream on `res`: a `ready` event with the current status, then `changed` events. */
  async open(res: ServerResponse): Promise<void> {
    if (this.closed) throw new StreamClosedError('the service is shutting down');
    // Read before the headers go out, so a failure is still a problem response.
    const current = await this.statuses();
    if (this.closed) throw new StreamClosedError('the service is shutting down');
    res.writeHead(200, {
      'Content-Type': 'text/event-stream; charset=utf-8',
      'Cache-Control': 'no-cache, no-transform',
      // Reverse proxies (nginx) would otherwise buffer the stream.
      'X-Accel-Buffering': 'no',
    });
    res.socket?.setNoDelay(true);
    this.clients.add(res);
    res.once('close', () => this.drop(res));
    this.last ??= current;
    this.send(res, eventFrame('ready', { projections: current }));
    this.schedulePoll();
    this.heartbeat ??= setInterval(() => this.broadcast(': heartbeat\n\n'), this.heartbeatMs).unref();
  }

  close(): void {
    this.closed = true;
    this.stopTimers();
    for (const res of this.clients) res.end();
    this.clients.clear();
  }

  private drop(res: ServerResponse): void {
    this.clients.delete(res);
    if (this.clients.size === 0) {
      this.stopTimers();
      this.last = undefined;
    }
  }

  private stopTimers(): void {
    clearTimeout(this.pollTimer);
    clearInterval(this.heartbeat);
    this.pollTimer = undefined;
    this.heartbeat = undefined;
  }

  // A chain of timeouts rather than an interval: a slow status read never overlaps the next.
  private schedulePoll(): void {
    if (this.pollTimer || this.polling || this.closed || this.clients.size === 0) return;
    this.pollTimer = setTimeout(() => void this.poll(), this.pollMs).unref();
  }

  private async poll(): Promise<void> {
    this.pollTimer = undefined;
    this.polling = true;
    try {
      const current = await this.statuses();
      const { moved, changed } = projectionChanges(this.last ?? [], current);
      this.last = current;
      if (changed) this.broadcast(eventFrame('changed', { moved, projections: current }));
    } catch (err) {
      this.options.onError?.(err);
    } finally {
      this.polling = false;
      this.schedulePoll();
    }
  }

  private broadcast(frame: string): void {
    for (const res of this.clients) this.send(res, frame);
  }

  private send(res: ServerResponse, frame: string): void {
    if (res.writableLength > this.maxBufferedBytes) {
      res.destroy();
      this.drop(res);
      return;
    }
    res.write(frame);
  }
}
