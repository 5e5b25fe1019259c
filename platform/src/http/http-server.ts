import { randomBytes } from 'node:crypto';
import { createServer, maxHeaderSize, type RequestListener, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { problemResponse } from './problem';

/**
 * Node's limit on a request's line and headers together (16 KiB unless
 * `--max-http-header-size` says otherwise); over it the server answers 431
 * before any route runs. Every operation's OpenAPI document lists that 431.
 */
export const MAX_REQUEST_HEAD_BYTES = maxHeaderSize;

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
  server.on('clientError', answerUnparsableRequest);

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

/**
 * What Node's HTTP parser refuses before express sees a request: a request
 * line and headers over `MAX_REQUEST_HEAD_BYTES` (431), a request that took
 * too long to arrive (408), anything else it cannot parse (400). Node's own
 * answer has no body; this one is the same RFC 9457 problem every other
 * error is, so that a client (or a fuzzer) meets one error format only.
 * The request was never parsed: no path for `instance`, no trace context.
 */
function answerUnparsableRequest(err: NodeJS.ErrnoException, socket: Socket): void {
  if (err.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const [status, kind, detail] =
    err.code === 'HPE_HEADER_OVERFLOW'
      ? [431, 'request-header-fields-too-large', `the request line and headers exceed ${MAX_REQUEST_HEAD_BYTES} bytes`]
      : err.code === 'HPE_REQUEST_TIMEOUT' || err.code === 'ERR_HTTP_REQUEST_TIMEOUT'
        ? [408, 'request-timeout', 'the request did not arrive in time']
        : [400, 'bad-request', 'the request is not well-formed HTTP/1.1'];
  const response = problemResponse(status, kind, detail, { instance: '', traceId: randomBytes(16).toString('hex') });
  const body = JSON.stringify(response.body);
  const head = [
    `HTTP/1.1 ${status} ${STATUS_TEXT[status]}`,
    ...Object.entries(response.headers).map(([name, value]) => `${name}: ${value}`),
    `Content-Length: ${Buffer.byteLength(body)}`,
    'Connection: close',
  ];
  socket.end(`${head.join('\r\n')}\r\n\r\n${body}`);
}

const STATUS_TEXT: Record<number, string> = { 400: 'Bad Request', 408: 'Request Timeout', 431: 'Request Header Fields Too Large' };
