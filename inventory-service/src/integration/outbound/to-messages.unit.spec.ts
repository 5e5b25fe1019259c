import { decodeEnvelope, type RecordedEvent } from '@shop/platform';
import { describe, expect, it } from 'vitest';
import { toMessages } from './to-messages';

const orderId = '5b0f0c3e-1c1a-4c3e-9a1e-2f3d4c5b6a70';
const at = '2025-01-01T00:00:00.000Z';
const recorded = (type: string, data: object, metadata: RecordedEvent['metadata'] = {}): RecordedEvent => ({
  id: '0d6c1c52-8d1c-4f7a-9a51-3b7f7f0b2c11',
  streamId: 's',
  revision: 0,
  position: 1,
  type,
  schemaVersion: 1,
  data,
  metadata,
  recordedAt: new Date(),
});

describe('outbound mapping', () => {
  it('turns a SKU change into stock-level-changed keyed by SKU, with the levels after it and the cause', () => {
    const [message, ...rest] = toMessages(
      recorded(
        'StockReserved',
        { sku: 'SKU-1', orderId, quantity: 2, reservedAt: '2025-01-01T00:00:00.000Z', levels: { onHand: 5, reserved: 2, available: 3, sold: 0, received: 5 } },
        { correlationId: 'corr-1', causationId: 'cause-1' },
      ),
    );
    expect(rest).toEqual([]);
    expect(message!.key).toBe('SKU-1');
    const env = decodeEnvelope(message!);
    expect(env).toMatchObject({ id: '0d6c1c52-8d1c-4f7a-9a51-3b7f7f0b2c11', type: 'inventory.stock-level-changed', correlationid: 'corr-1', causationid: 'cause-1' });
    expect(env.data).toEqual({ sku: 'SKU-1', onHand: 5, reserved: 2, available: 3, sold: 0, received: 5, cause: 'reserved', orderId, changedAt: '2025-01-01T00:00:00.000Z' });
  });

  it('turns recorded outcomes into the replies, keyed by order', () => {
    const lines = [{ sku: 'SKU-1', quantity: 2 }];
    const typeOf = (type: string, data: object) => toMessages(recorded(type, data)).map((m) => [m.key, decodeEnvelope(m).type]);
    expect(typeOf('ReservationSucceeded', { orderId, lines, succeededAt: at })).toEqual([[orderId, 'inventory.stock-reserved']]);
    expect(typeOf('ReservationFailed', { orderId, shortages: [{ sku: 'SKU-1', requested: 2, available: 0 }], failedAt: at })).toEqual([
      [orderId, 'inventory.stock-reservation-failed'],
    ]);
    expect(typeOf('ReservationReleased', { orderId, lines: [], releasedAt: at })).toEqual([[orderId, 'inventory.stock-released']]);
    expect(typeOf('ReservationCommitted', { orderId, lines, committedAt: at })).toEqual([[orderId, 'inventory.reservation-committed']]);
  });

  it('turns a restock into stock-level-changed with the restocked cause, and into the stock-released reply listing the lines', () => {
    const [change] = toMessages(
      recorded('StockRestocked', { sku: 'SKU-1', orderId, quantity: 2, restockedAt: '2025-01-02T00:00:00.000Z', levels: { onHand: 5, reserved: 0, available: 5, sold: 0, received: 5 } }),
    );
    expect(decodeEnvelope(change!).data).toEqual({
      sku: 'SKU-1', onHand: 5, reserved: 0, available: 5, sold: 0, received: 5, cause: 'restocked', orderId, changedAt: '2025-01-02T00:00:00.000Z',
    });
    const lines = [{ sku: 'SKU-1', quantity: 2 }];
    const replies = toMessages(recorded('ReservationRestocked', { orderId, lines, restockedAt: at }));
    expect(replies.map((m) => [m.key, decodeEnvelope(m).type, decodeEnvelope(m).data])).toEqual([[orderId, 'inventory.stock-released', { orderId, lines }]]);
  });

  it('keeps the request inside the service', () => {
    expect(toMessages(recorded('ReservationRequested', { orderId, lines: [], requestedAt: at }))).toEqual([]);
  });
});
