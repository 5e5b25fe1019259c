import { once } from 'node:events';
import { MessageChannel, receiveMessageOnPort, Worker } from 'node:worker_threads';
import type { WireRequest, WireResponse } from './wire';

/**
 * Synchronous HTTP for the script's thread, as k6 has it: the request goes to
 * a worker thread that runs fetch; this thread blocks in Atomics.wait on a
 * SharedArrayBuffer until the worker has posted the answer on a
 * MessageChannel, then takes it with receiveMessageOnPort (no event loop turn
 * needed). Also the blocking sleep.
 */

let worker: Worker | undefined;
let signal: Int32Array | undefined;
let replies: MessagePort | undefined;

type MessagePort = import('node:worker_threads').MessagePort;

/** Starts the worker and waits until it listens (before the script runs, so no request waits on a boot). */
export async function startHttpWorker(): Promise<void> {
  if (worker) return;
  signal = new Int32Array(new SharedArrayBuffer(4));
  const channel = new MessageChannel();
  replies = channel.port1;
  // Node 20 does not apply --import loaders to worker threads: the worker
  // boots plain, then loads the TypeScript worker module through tsx's API.
  const tsxApi = import.meta.resolve('tsx/esm/api');
  const workerModule = new URL('./http-worker.ts', import.meta.url).href;
  const boot = `import(${JSON.stringify(tsxApi)}).then((api) => api.tsImport(${JSON.stringify(workerModule)}, ${JSON.stringify(workerModule)}))`;
  worker = new Worker(boot, {
    eval: true,
    execArgv: [],
    workerData: { signal, reply: channel.port2 },
    transferList: [channel.port2],
  });
  const [first] = (await Promise.race([once(worker, 'message'), once(worker, 'error').then(([e]) => Promise.reject(e as Error))])) as [unknown];
  if (first !== 'ready') throw new Error(`harness: the HTTP worker said ${String(first)} instead of ready`);
  worker.unref();
  replies.unref();
}

export async function stopHttpWorker(): Promise<void> {
  replies?.close();
  await worker?.terminate();
  worker = undefined;
}

/** Performs `req` and blocks until the answer is there (or the worker is silent for the timeout plus a margin). */
export function requestSync(req: WireRequest): WireResponse {
  if (!worker || !signal || !replies) throw new Error('harness: the HTTP worker is not started');
  Atomics.store(signal, 0, 0);
  worker.postMessage(req);
  const waited = Atomics.wait(signal, 0, 0, req.timeoutMs + 10_000);
  if (waited === 'timed-out') throw new Error(`harness: no answer from the HTTP worker within ${req.timeoutMs + 10_000} ms for ${req.method} ${req.url}`);
  const received = receiveMessageOnPort(replies);
  if (!received) throw new Error('harness: the HTTP worker signalled but posted no answer');
  const message = received.message as WireResponse | { fatal: string };
  if ('fatal' in message) throw new Error(`harness: the HTTP worker failed: ${message.fatal}`);
  return message;
}

/** Blocks this thread for `seconds` (k6's sleep is synchronous). */
export function sleepSync(seconds: number): void {
  const ms = Number(seconds) * 1000;
  if (!Number.isFinite(ms) || ms <= 0) return;
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}
