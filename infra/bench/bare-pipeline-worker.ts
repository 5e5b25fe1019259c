/**
 * The bare Postgres pipeline's own process (forked by `bare-pipeline.ts`):
 * the work of `HOPS` durable hops per order with no framework at all. One
 * table per hop; per hop, `WORKERS` workers each move one row at a time to
 * the next table in one transaction (`DELETE ... FOR UPDATE SKIP LOCKED` +
 * `INSERT` + `pg_notify`, a single statement), woken by LISTEN/NOTIFY. One
 * connection listens for every hop: PostgreSQL signals every listening
 * backend of a database on each NOTIFY, and each signalled backend runs a
 * transaction to read the queue, so a listener per worker would cost more
 * than the work itself. An
 * order enters by one insert (what the order service's POST stores) and is
 * terminal once it has passed hop `TERMINAL_HOP`; it leaves at the last hop.
 *
 * Messages from the parent: `{ step, rate, seconds }` places orders
 * open-loop at `rate` for `seconds` and answers `{ step, offered, failures }`;
 * `{ stop: true }` ends the process.
 */
import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { openLoop } from './order-load';

const connection = JSON.parse(process.env.BARE_CONNECTION!) as pg.ClientConfig;
const HOPS = Number(process.env.BARE_HOPS);
const TERMINAL_HOP = Number(process.env.BARE_TERMINAL_HOP);
const WORKERS = Number(process.env.BARE_WORKERS ?? 2);

const table = (hop: number) => (hop > HOPS ? 'bare_done' : `bare_hop_${hop}`);

/** Moves one row from `hop` to the next table; true when a row moved. */
function moveStatement(hop: number): string {
  const terminal = hop === TERMINAL_HOP;
  return `
    with moved as (
      delete from ${table(hop)} where order_id = (select order_id from ${table(hop)} limit 1 for update skip locked)
      returning order_id, step, placed_at, ${terminal ? 'clock_timestamp()' : 'terminal_at'} as terminal_at, payload
    ), next as (
      insert into ${table(hop + 1)} (order_id, step, placed_at, terminal_at, payload)
      select order_id, step, placed_at, terminal_at, payload from moved returning 1
    )${
      terminal
        ? `, terminals as (insert into bare_terminals (order_id, step, placed_at, terminal_at) select order_id, step, placed_at, terminal_at from moved)`
        : ''
    }
    select pg_notify('${table(hop + 1)}', '') from next`;
}

/** Workers waiting for a notification on each hop's channel. */
const waiting = new Map<string, (() => void)[]>();

async function listen(): Promise<void> {
  const client = new pg.Client(connection);
  await client.connect();
  client.on('notification', (n) => {
    for (const wake of waiting.get(n.channel)?.splice(0) ?? []) wake();
  });
  for (let hop = 1; hop <= HOPS; hop++) await client.query(`listen ${table(hop)}`);
}

async function worker(hop: number): Promise<void> {
  const client = new pg.Client(connection);
  await client.connect();
  const channel = table(hop);
  const sql = moveStatement(hop);
  for (;;) {
    const res = await client.query(sql);
    if (res.rowCount && res.rowCount > 0) continue;
    await new Promise<void>((resolve) => {
      const list = waiting.get(channel) ?? [];
      list.push(resolve);
      waiting.set(channel, list);
      setTimeout(resolve, 1_000).unref();
    });
  }
}

async function placeOpenLoop(entry: pg.Pool, step: number, rate: number, seconds: number): Promise<{ offered: number; failures: number }> {
  let failures = 0;
  const payload = JSON.stringify({ customerId: 'bare', lines: [{ sku: 'BARE-0001', quantity: 1 }], paymentToken: 'tok_approve' });
  const { offered } = await openLoop(rate, seconds, async () => {
    await entry
      .query(
        `with placed as (insert into bare_hop_1 (order_id, step, placed_at, payload) values ($1, $2, clock_timestamp(), $3) returning 1)
         select pg_notify('bare_hop_1', '') from placed`,
        [randomUUID(), step, payload],
      )
      .catch(() => void failures++);
  });
  return { offered, failures };
}

async function main(): Promise<void> {
  const entry = new pg.Pool({ ...connection, max: 8 });
  await listen();
  for (let hop = 1; hop <= HOPS; hop++) {
    for (let w = 0; w < WORKERS; w++) {
      worker(hop).catch((err: unknown) => {
        console.error(`bare pipeline worker of hop ${hop} failed:`, err);
        process.exit(1);
      });
    }
  }
  process.on('message', (m: { step?: number; rate?: number; seconds?: number; stop?: boolean }) => {
    if (m.stop) process.exit(0);
    void placeOpenLoop(entry, m.step!, m.rate!, m.seconds!).then((r) => process.send?.({ step: m.step, ...r }));
  });
  process.send?.({ ready: true });
}

void main();
