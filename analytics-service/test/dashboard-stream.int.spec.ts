import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProjectionStatus } from '@shop/platform';
import { waitFor } from '@shop/platform/testing';
import { ProjectionChangeStream } from '../src/dashboard/change-stream';
import { openStream } from './dashboard-support';

const POLL_MS = 40;

/** The change stream over a real HTTP server, fed by a status source the test moves by hand. */
describe('the projection change stream (one poll loop for every connection)', () => {
  let position = 0;
  let head = 0;
  let calls = 0;
  let inFlight = 0;
  let maxInFlight = 0;
  let stream: ProjectionChangeStream;
  let server: Server;
  let url: string;

  const statuses = async (): Promise<ProjectionStatus[]> => {
    calls++;
    inFlight++;
    maxInFlight = Math.max(maxInFlight, inFlight);
    // Slower than nothing, so that polls from several loops would overlap.
    await new Promise((r) => setTimeout(r, 15));
    inFlight--;
    return [{ name: 'orders', state: 'live', position, head, lag: head - position }];
  };

  beforeAll(async () => {
    stream = new ProjectionChangeStream(statuses, { pollMs: POLL_MS, heartbeatMs: 100 });
    server = createServer((_req, res) => void stream.open(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    stream.close();
    await new Promise((resolve) => server.close(resolve));
  });

  it('polls once at a time however many clients listen, and tells each of them what moved', async () => {
    const clients = await Promise.all(Array.from({ length: 5 }, () => openStream(url)));
    await Promise.all(clients.map((c) => c.next((e) => e.event === 'ready')));
    expect(stream.connections).toBe(5);
    maxInFlight = 0;
    const before = calls;
    await waitFor(() => calls >= before + 6);
    expect(maxInFlight).toBe(1);

    position = head = 1;
    const notices = await Promise.all(clients.map((c) => c.next((e) => e.event === 'changed')));
    for (const n of notices) expect(JSON.parse(n.data)).toMatchObject({ moved: ['orders'], projections: [{ name: 'orders', position: 1 }] });

    // Several polls without a change, then one: the next notice is that change (nothing was sent in between).
    const quiet = calls;
    await waitFor(() => calls >= quiet + 3);
    head = 2;
    const headOnly = JSON.parse((await clients[0]!.next((e) => e.event === 'changed')).data) as { moved: string[]; projections: ProjectionStatus[] };
    expect(headOnly).toMatchObject({ moved: [], projections: [{ position: 1, head: 2, lag: 1 }] });
    for (const c of clients) c.close();
  });

  it('stops polling once the last client has gone', async () => {
    await waitFor(() => stream.connections === 0);
    await waitFor(() => inFlight === 0);
    const after = calls;
    await new Promise((r) => setTimeout(r, POLL_MS * 6));
    expect(calls).toBe(after);
  });

  it('keeps an idle stream alive with heartbeat comments', async () => {
    const res = await fetch(url);
    const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
    let text = '';
    while (!text.includes(': heartbeat\n\n')) text += (await reader.read()).value ?? '';
    expect(text).toMatch(/^event: ready\n/);
    await reader.cancel();
  });
});
