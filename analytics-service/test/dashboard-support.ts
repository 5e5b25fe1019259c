import { EventStreamParser, type ServerSentEvent } from '../src/dashboard/client/event-stream';

/** An open event stream, read with the same parser as the page's. */
export interface OpenStream {
  response: Response;
  /** Resolves with the first event (from now, or already received) that `match` accepts. */
  next(match: (e: ServerSentEvent) => boolean, timeoutMs?: number): Promise<ServerSentEvent>;
  /** Resolves true when the server ended the stream cleanly, false when the connection broke. */
  ended: Promise<boolean>;
  close(): void;
}

export async function openStream(url: string, token?: string): Promise<OpenStream> {
  const abort = new AbortController();
  const response = await fetch(url, { headers: token ? { authorization: `Bearer ${token}` } : {}, signal: abort.signal });
  const received: ServerSentEvent[] = [];
  const waiters = new Set<() => void>();
  const parser = new EventStreamParser();
  const ended = (async () => {
    if (!response.ok || !response.body) return true;
    const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
    try {
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return true;
        received.push(...parser.push(value));
        for (const w of waiters) w();
      }
    } catch {
      return false;
    }
  })();
  return {
    response,
    ended,
    close: () => abort.abort(),
    next: (match, timeoutMs = 15_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          const i = received.findIndex(match);
          if (i === -1) return;
          const [event] = received.splice(0, i + 1).slice(-1);
          cleanup();
          resolve(event!);
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`no matching event within ${timeoutMs} ms; received ${JSON.stringify(received)}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      }),
  };
}
