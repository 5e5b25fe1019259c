import { ConflictError, ValidationError } from '@shop/platform';
import { DeciderSpecification } from '@shop/platform/testing';
import { describe, expect, it } from 'vitest';
import { reservationDecider } from './decide';
import { linesBySku, type ReservationEvent } from './reservation';

const spec = DeciderSpecification.for(reservationDecider);
const orderId = '5b0f0c3e-1c1a-4c3e-9a1e-2f3d4c5b6a70';
const now = '2025-01-01T10:00:00.000Z';
const lines = [
  { sku: 'SKU-B', quantity: 1 },
  { sku: 'SKU-A', quantity: 2 },
];
const shortages = [{ sku: 'SKU-B', requested: 1, available: 0 }];

const requested: ReservationEvent = { type: 'ReservationRequested', orderId, lines, requestedAt: now };
const succeeded: ReservationEvent = { type: 'ReservationSucceeded', orderId, lines, succeededAt: now };
const failed: ReservationEvent = { type: 'ReservationFailed', orderId, shortages, failedAt: now };
const releasedAll: ReservationEvent = { type: 'ReservationReleased', orderId, lines, releasedAt: now };
const releasedNothing: ReservationEvent = { type: 'ReservationReleased', orderId, lines: [], releasedAt: now };
const committed: ReservationEvent = { type: 'ReservationCommitted', orderId, lines, committedAt: now };
const restocked: ReservationEvent = { type: 'ReservationRestocked', orderId, lines, restockedAt: now };

const request = { type: 'RequestOrderReservation' as const, orderId, lines, now };
const completeOk = { type: 'CompleteOrderReservation' as const, orderId, outcome: { allReserved: true as const }, now };
const completeShort = { type: 'CompleteOrderReservation' as const, orderId, outcome: { allReserved: false as const, shortages }, now };
const release = { type: 'ReleaseOrderReservation' as const, orderId, now };
const commit = { type: 'CommitOrderReservation' as const, orderId, now };

describe('reservation of an order', () => {
  describe('when the order is unknown', () => {
    it('records the request with its lines', () => {
      spec.given([]).when(request).then([requested]);
    });
    it('refuses a request without lines', () => {
      spec.given([]).when({ ...request, lines: [] }).thenThrows(ValidationError);
    });
    it('records nothing as an outcome (there is no request to complete)', () => {
      spec.given([]).when(completeOk).thenNothing();
    });
    it('records a release of nothing: the caller gets an answer with no lines', () => {
      spec.given([]).when(release).then([releasedNothing]);
    });
    it('commits nothing', () => {
      spec.given([]).when(commit).thenNothing();
    });
  });

  describe('when the reservation is in progress', () => {
    it('does not record the request twice', () => {
      spec.given([requested]).when(request).thenNothing();
    });
    it('records success with the requested lines', () => {
      spec.given([requested]).when(completeOk).then([succeeded]);
    });
    it('records failure with the shortages', () => {
      spec.given([requested]).when(completeShort).then([failed]);
    });
    it('refuses a failure that names no shortage', () => {
      spec.given([requested])
        .when({ ...completeShort, outcome: { allReserved: false, shortages: [] } })
        .thenThrows(ValidationError);
    });
    it('refuses to release or commit before the outcome is recorded', () => {
      spec.given([requested]).when(release).thenThrows(ConflictError, /in progress/);
      spec.given([requested]).when(commit).thenThrows(ConflictError, /in progress/);
    });
  });

  describe('when the reservation succeeded', () => {
    it('decides nothing on a repeated request or a second outcome (the first writer won)', () => {
      spec.given([requested, succeeded]).when(request).thenNothing();
      spec.given([requested, succeeded]).when(completeShort).thenNothing();
    });
    it('releases every line', () => {
      spec.given([requested, succeeded]).when(release).then([releasedAll]);
    });
    it('commits every line', () => {
      spec.given([requested, succeeded]).when(commit).then([committed]);
    });
  });

  describe('when the reservation failed', () => {
    it('decides nothing on a repeated request or a late success', () => {
      spec.given([requested, failed]).when(request).thenNothing();
      spec.given([requested, failed]).when(completeOk).thenNothing();
    });
    it('records a release of nothing', () => {
      spec.given([requested, failed]).when(release).then([releasedNothing]);
    });
    it('commits nothing', () => {
      spec.given([requested, failed]).when(commit).thenNothing();
    });
  });

  describe('when the reservation was released', () => {
    it('decides nothing more: no second release, no commit, no late request', () => {
      spec.given([requested, succeeded, releasedAll]).when(release).thenNothing();
      spec.given([requested, succeeded, releasedAll]).when(commit).thenNothing();
      spec.given([releasedNothing]).when(request).thenNothing();
    });
  });

  describe('when the reservation was committed', () => {
    it('restocks every committed line on a release (the confirmed order was cancelled)', () => {
      spec.given([requested, succeeded, committed]).when(release).then([restocked]);
    });
    it('decides nothing on a second commit or a late request', () => {
      spec.given([requested, succeeded, committed]).when(commit).thenNothing();
      spec.given([requested, succeeded, committed]).when(request).thenNothing();
    });
  });

  describe('when the reservation was restocked', () => {
    it('decides nothing more: no second restock (no second reply), no commit, no late request', () => {
      spec.given([requested, succeeded, committed, restocked]).when(release).thenNothing();
      spec.given([requested, succeeded, committed, restocked]).when(commit).thenNothing();
      spec.given([requested, succeeded, committed, restocked]).when(request).thenNothing();
      spec.given([requested, succeeded, committed, restocked]).when(completeOk).thenNothing();
    });
  });
});

describe('lines by SKU', () => {
  it('adds up repeated SKUs and sorts by SKU', () => {
    expect(linesBySku([...lines, { sku: 'SKU-A', quantity: 3 }])).toEqual([
      { sku: 'SKU-A', quantity: 5 },
      { sku: 'SKU-B', quantity: 1 },
    ]);
  });
});
