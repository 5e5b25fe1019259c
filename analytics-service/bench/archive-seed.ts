import {
  OrderCancellationRequested,
  OrderCancelled,
  OrderConfirmed,
  OrderLinesPriced,
  OrderPlaced,
  OrderRejected,
  PaymentAuthorized,
  PaymentDeclined,
  PaymentVoided,
  ProductAdded,
  ProductPriceChanged,
  ReservationCommitted,
  StockLevelChanged,
  StockReleased,
  StockReservationFailed,
  StockReserved,
  type MessageData,
  type MessageDefinition,
  type PricedLine,
} from '@shop/contracts';
import type { Knex } from 'knex';
import { isDeepStrictEqual } from 'node:util';
import { encodeEnvelope, envelope, seededRandom, type AppendResult, type ConsumedMessage, type Envelope, type EventStore, type EventToAppend } from '@shop/platform';
import { archiveEventId, archiveHandler, archiveStreamId, type ArchiveMetadata } from '../src/archive/archive';

/**
 * A synthetic but plausible archive for the replay benchmark: a shop with a
 * few hundred SKUs taking orders for some hours, every order running the
 * place-order saga (pricing, reservation, payment, confirmation or
 * rejection, commit) and a share of confirmed orders cancelled a minute
 * later. Everything the analytics archive consumes is there, the replies the
 * projections skip included. Deterministic for a given seed.
 */

export interface ShopHistoryOptions {
  skus: number;
  /** Stop once at least this many messages were produced (whole orders only). */
  messages: number;
  start: Date;
  /** Mean gap between two orders. */
  orderEveryMs: number;
  seed: number;
}

interface Stock {
  onHand: number;
  reserved: number;
  sold: number;
  received: number;
}


const HEX = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** A version-4-shaped UUID from the generator (so runs are repeatable). */
function uuidFrom(random: () => number): string {
  const b = Array.from({ length: 16 }, () => Math.floor(random() * 256));
  b[6] = (b[6]! & 0x0f) | 0x40;
  b[8] = (b[8]! & 0x3f) | 0x80;
  const h = b.map((x) => HEX[x]!).join('');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}

/** A message as its producer published it. */
export interface Published {
  envelope: Envelope;
  topic: string;
  key: string;
  offset: number;
  publishedAt: Date;
}

/** The message as the archive consumer receives it. */
export function consumedOf(p: Published): ConsumedMessage {
  const m = encodeEnvelope(p.envelope, { topic: p.topic, key: p.key });
  return { ...m, headers: m.headers ?? {}, partition: 0, offset: p.offset, publishedAt: p.publishedAt, attempt: 1 };
}

/** The shop's history in archive (arrival) order. */
export function* shopHistory(options: ShopHistoryOptions): Generator<Published> {
  const random = seededRandom(options.seed);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!;
  let offset = 0;
  let produced = 0;
  // As `buildMessage` builds it, minus its validation: the archive handler validates what it archives.
  const build = <D extends MessageDefinition>(definition: D, data: MessageData<D>, at: number, correlationId: string): Published => {
    const key = definition.key(data);
    produced++;
    return {
      envelope: envelope({
        id: uuidFrom(random),
        source: definition.producer,
        type: definition.type,
        subject: key,
        dataschema: `urn:shop:${definition.type}:${definition.version}`,
        schemaversion: definition.version,
        correlationid: correlationId,
        time: new Date(at).toISOString(),
        data,
      }),
      topic: definition.topic,
      key,
      offset: offset++,
      publishedAt: new Date(at),
    };
  };

  const skus = Array.from({ length: options.skus }, (_, i) => `SKU-${String(i + 1).padStart(5, '0')}`);
  const price = new Map<string, number>();
  const stock = new Map<string, Stock>();
  const categories = ['tools', 'garden', 'kitchen', 'toys', 'books', 'sports'];
  const customers = Array.from({ length: 5_000 }, (_, i) => `cust-${i}`);
  let now = options.start.getTime();
  const iso = (ms: number) => new Date(ms).toISOString();
  const level = (sku: string, cause: MessageData<typeof StockLevelChanged>['cause'], at: number, corr: string, orderId?: string) => {
    const s = stock.get(sku)!;
    return build(
      StockLevelChanged,
      { sku, onHand: s.onHand, reserved: s.reserved, available: s.onHand - s.reserved, sold: s.sold, received: s.received, cause, ...(orderId ? { orderId } : {}), changedAt: iso(at) },
      at,
      corr,
    );
  };

  for (const [i, sku] of skus.entries()) {
    price.set(sku, 100 * (5 + Math.floor(random() * 200)));
    stock.set(sku, { onHand: 0, reserved: 0, sold: 0, received: 0 });
    const corr = `seed-${sku}`;
    yield build(ProductAdded, { sku, name: `Product ${i + 1}`, description: 'A fine thing.', category: pick(categories), price: { amount: price.get(sku)!, currency: 'EUR' }, addedAt: iso(now) }, now, corr);
    const s = stock.get(sku)!;
    const receive = 50 + Math.floor(random() * 200);
    s.onHand += receive;
    s.received += receive;
    yield level(sku, 'received', now, corr);
  }

  // Cancellations happen a minute after confirmation: queued, released in time order.
  const later: { at: number; messages: () => Published[] }[] = [];
  while (produced < options.messages) {
    now += Math.max(1, Math.round(-Math.log(1 - random()) * options.orderEveryMs));
    while (later.length > 0 && later[0]!.at <= now) yield* later.shift()!.messages();

    const orderId = uuidFrom(random);
    const customerId = pick(customers);
    const corr = `corr-${orderId}`;
    const currency = random() < 0.15 ? 'USD' : 'EUR';
    const lineCount = 1 + Math.floor(random() * random() * 4);
    const lines = new Map<string, number>();
    // A few best sellers, a long tail.
    for (let l = 0; l < lineCount; l++) {
      const sku = random() < 0.3 ? skus[Math.floor(random() * 10)]! : pick(skus);
      lines.set(sku, (lines.get(sku) ?? 0) + 1 + Math.floor(random() * 3));
    }
    const orderLines = [...lines].map(([sku, quantity]) => ({ sku, quantity }));
    let t = now;
    yield build(OrderPlaced, { orderId, customerId, lines: orderLines, placedAt: iso(t), channel: 'web' }, t, corr);

    const priced: PricedLine[] = orderLines.map(({ sku, quantity }) => {
      const unit = currency === 'USD' ? Math.round(price.get(sku)! * 1.1) : price.get(sku)!;
      return { sku, quantity, unitPrice: { amount: unit, currency }, lineTotal: { amount: unit * quantity, currency } };
    });
    const total = { amount: priced.reduce((sum, l) => sum + l.lineTotal.amount, 0), currency };
    t += 20;
    yield build(OrderLinesPriced, { orderId, lines: priced, total }, t, corr);

    t += 20;
    const shortages = orderLines
      .map(({ sku, quantity }) => ({ sku, requested: quantity, available: stock.get(sku)!.onHand - stock.get(sku)!.reserved }))
      .filter((s) => s.available < s.requested);
    if (shortages.length > 0) {
      yield build(StockReservationFailed, { orderId, shortages }, t, corr);
      t += 20;
      yield build(OrderRejected, { orderId, customerId, reason: 'out of stock', rejectedAt: iso(t) }, t, corr);
      // The warehouse restocks what ran out.
      for (const { sku } of shortages) {
        const s = stock.get(sku)!;
        const receive = 100 + Math.floor(random() * 200);
        s.onHand += receive;
        s.received += receive;
        yield level(sku, 'received', t, `restock-${orderId}`);
      }
      continue;
    }
    for (const { sku, quantity } of orderLines) {
      stock.get(sku)!.reserved += quantity;
      yield level(sku, 'reserved', t, corr, orderId);
    }
    yield build(StockReserved, { orderId, lines: orderLines }, t, corr);

    t += 150;
    if (random() < 0.04) {
      yield build(PaymentDeclined, { orderId, reason: 'card declined' }, t, corr);
      t += 20;
      for (const { sku, quantity } of orderLines) {
        stock.get(sku)!.reserved -= quantity;
        yield level(sku, 'released', t, corr, orderId);
      }
      yield build(StockReleased, { orderId, lines: orderLines }, t, corr);
      yield build(OrderRejected, { orderId, customerId, reason: 'payment declined', rejectedAt: iso(t) }, t, corr);
      continue;
    }
    const authorizationId = `auth-${orderId.slice(0, 8)}`;
    yield build(PaymentAuthorized, { orderId, authorizationId, amount: total }, t, corr);
    t += 20;
    yield build(OrderConfirmed, { orderId, customerId, lines: priced, total, confirmedAt: iso(t) }, t, corr);
    t += 20;
    for (const { sku, quantity } of orderLines) {
      const s = stock.get(sku)!;
      s.reserved -= quantity;
      s.onHand -= quantity;
      s.sold += quantity;
      yield level(sku, 'committed', t, corr, orderId);
    }
    yield build(ReservationCommitted, { orderId, lines: orderLines }, t, corr);

    if (random() < 0.1) {
      const at = t + 60_000;
      later.push({
        at,
        messages: () => {
          const out = [build(OrderCancellationRequested, { orderId, customerId, requestedAt: iso(at) }, at, corr)];
          for (const { sku, quantity } of orderLines) {
            const s = stock.get(sku)!;
            s.onHand += quantity;
            s.sold -= quantity;
            out.push(level(sku, 'restocked', at + 20, corr, orderId));
          }
          out.push(build(StockReleased, { orderId, lines: orderLines }, at + 20, corr));
          out.push(build(PaymentVoided, { orderId, authorizationId }, at + 40, corr));
          out.push(build(OrderCancelled, { orderId, customerId, reason: 'changed my mind', cancelledAt: iso(at + 60) }, at + 60, corr));
          return out;
        },
      });
    }
    if (random() < 0.002) {
      const sku = pick(skus);
      const previous = price.get(sku)!;
      price.set(sku, Math.max(100, previous + 100 * (Math.floor(random() * 11) - 5)));
      yield build(ProductPriceChanged, { sku, price: { amount: price.get(sku)!, currency: 'EUR' }, previousPrice: { amount: previous, currency: 'EUR' }, changedAt: iso(t) }, t, corr);
    }
  }
  for (const pending of later) yield* pending.messages();
}

interface ArchiveRow {
  global_position: number;
  event_id: string;
  stream_id: string;
  stream_revision: number;
  type: string;
  schema_version: number;
  data: unknown;
  metadata: unknown;
  recorded_at: string;
}

/**
 * What `archiveHandler` appends for a valid message, built directly: the
 * same stream, event id, type, version, data and metadata, without decoding
 * the message again. `seedArchive` checks it against the handler itself on
 * a sample.
 */
function archivedEvent(p: Published): { streamId: string; event: EventToAppend } {
  const { data, ...attributes } = p.envelope;
  const metadata: ArchiveMetadata = {
    correlationId: p.envelope.correlationid,
    envelope: attributes,
    bus: { topic: p.topic, partition: 0, offset: p.offset, key: p.key, publishedAt: p.publishedAt.toISOString() },
  };
  return {
    streamId: archiveStreamId(p.topic, p.key),
    event: { id: archiveEventId(p.envelope.id), type: p.envelope.type, schemaVersion: p.envelope.schemaversion, data, metadata },
  };
}

/**
 * Writes the shop's history into the archive's `es_events`, 20,000 rows per
 * statement: the rows the archive consumer's appends would store, in arrival
 * order (positions gap-free after the head, revisions per stream from 0),
 * without the per-message work of the live path, so a million events load in
 * about a minute rather than many. Every `verifyEvery`-th message also goes
 * through the real `archiveHandler` (contract validation included), and the
 * seed stops if its append differs from the row written. `recorded_at` is
 * the time the message was published.
 */
export async function seedArchive(
  db: Knex,
  messages: Iterable<Published>,
  options: { chunk?: number; concurrency?: number; verifyEvery?: number; onProgress?: (archived: number) => void } = {},
): Promise<{ archived: number; verified: number }> {
  const chunk = options.chunk ?? 20_000;
  const verifyEvery = options.verifyEvery ?? 50;
  const head = (await db.raw('select coalesce(max(global_position), 0)::bigint as head from es_events')) as { rows: { head: string }[] };
  let position = Number(head.rows[0]!.head);
  const revisions = new Map<string, number>();
  let captured: { streamId: string; event: EventToAppend } | undefined;
  const reference = archiveHandler({
    append: (streamId: string, events: EventToAppend[]): Promise<AppendResult> => {
      captured = { streamId, event: events[0]! };
      return Promise.resolve({ nextExpectedRevision: 0, position: 0 });
    },
  } as Pick<EventStore, 'append'>);
  const write = (batch: ArchiveRow[]) =>
    db.raw(
      `insert into es_events (global_position, event_id, stream_id, stream_revision, type, schema_version, data, metadata, recorded_at)
       select * from jsonb_to_recordset(?::jsonb) as r(global_position bigint, event_id uuid, stream_id text, stream_revision bigint,
         type text, schema_version int, data jsonb, metadata jsonb, recorded_at timestamptz)`,
      [JSON.stringify(batch)],
    );
  let rows: ArchiveRow[] = [];
  let archived = 0;
  let verified = 0;
  // Positions are explicit and nothing reads the archive while it is seeded,
  // so chunks may commit in any order: two in flight keep both cores busy
  // parsing JSONB while the next chunk is built.
  const inFlight = new Set<Promise<unknown>>();
  const submit = async (batch: ArchiveRow[]) => {
    if (inFlight.size >= (options.concurrency ?? 2)) await Promise.race(inFlight);
    const done: Promise<unknown> = write(batch).finally(() => inFlight.delete(done));
    // Surfaces at the next race or at the end, not as an unhandled rejection meanwhile.
    done.catch(() => undefined);
    inFlight.add(done);
  };
  for (const message of messages) {
    const { streamId, event } = archivedEvent(message);
    if (archived % verifyEvery === 0) {
      captured = undefined;
      await reference(consumedOf(message));
      if (!isDeepStrictEqual(captured, { streamId, event })) {
        throw new Error(`seed row differs from the archive handler's append: ${JSON.stringify({ seed: { streamId, event }, handler: captured })}`);
      }
      verified++;
    }
    const revision = (revisions.get(streamId) ?? -1) + 1;
    revisions.set(streamId, revision);
    rows.push({
      global_position: ++position,
      event_id: event.id!,
      stream_id: streamId,
      stream_revision: revision,
      type: event.type,
      schema_version: event.schemaVersion!,
      data: event.data,
      metadata: event.metadata,
      recorded_at: message.publishedAt.toISOString(),
    });
    archived++;
    if (rows.length >= chunk) {
      await submit(rows);
      rows = [];
      options.onProgress?.(archived);
    }
  }
  if (rows.length > 0) await submit(rows);
  await Promise.all(inFlight);
  options.onProgress?.(archived);
  return { archived, verified };
}
