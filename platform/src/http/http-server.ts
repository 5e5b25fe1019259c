import { createServer, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';

export interface RunningHttpServer {
  server: Server;
  port: number;
  /** `http://host:port`, with the bound port. */
  url: string;
  /**
   * Graceful stop: refuses new connections at once, closes idle keep-alive
   * connections, lets in-flight requests finish (their connections then
   * close), and after `timeoutMs` destroys whatever is left. Calling it again
   * returns the same promise.
   */
  close(timeoutMs?: number): Promise<void>;
}

export async function startHttpServer(
  app: RequestListener,
  options: { port?: number; host?: string } = {},
): Promise<RunningHttpServer> {
  const server = createServer();
  // Idle keep-alive connections stay open longer than clients' (and proxies')
  // usual idle timeouts, so a client never reuses a connection at the moment
  // the server closes it (a reset request); `close` still ends idle ones at once.
  server.keepAliveTimeout = 65_000;
  server.headersTimeout = 66_000;
  // In-flight responses per connection: a connection with none is idle and
  // can be closed without cutting a response short.
  const active = new Map<Socket, Set<ServerResponse>>();
  let closing: Promise<void> | undefined;

  server.on('connection', (socket) => {
    active.set(socket, new Set());
    socket.once('close', () => active.delete(socket));
  });
  // Registered before the app so that, while closing, `Connection: close` is
  // set before any handler can send headers.
  server.on('request', (req, res) => {
    const socket = req.socket;
    const responses = active.get(socket) ?? new Set();
    active.set(socket, responses);
    responses.add(res);
    if (closing) res.setHeader('Connection', 'close');
    res.once('close', () => {
      responses.delete(res);
      if (closing && responses.size === 0) socket.end();
    });
  });
  server.on('request', app);

  const host = options.host ?? '127.0.0.1';
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;

  function close(timeoutMs = 10_000): Promise<void> {
    closing ??= new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        for (const socket of active.keys()) socket.destroy();
      }, timeoutMs);
      timer.unref();
      server.close((err) => {
        clearTimeout(timer);
        if (err) reject(err);
        else resolve();
      });
      for (const [socket, responses] of active) {
        if (responses.size === 0) socket.end();
        // Tell the clients of in-flight requests not to reuse the connection.
        for (const res of responses) if (!res.headersSent) res.setHeader('Connection', 'close');
      }
    });
    return closing;
  }

  const urlHost = host.includes(':') ? `[${host}]` : host;
  return { server, port, url: `http://${urlHost === '0.0.0.0' ? '127.0.0.1' : urlHost}:${port}`, close };
}
