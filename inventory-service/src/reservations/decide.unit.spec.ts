import { ConflictError, ValidationError } from '@shop/platform';
import { describe, expect, it } from 'vitest';
import { deciderSpec } from '../../test/support/decider-spec';
import { decide } from './decide';
import { linesBySku, reservationDecider, type ReservationEvent } from './reservation';

const given = deciderSpec(reservationDecider, decide);
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
      given().when(request).then(requested);
    });
    it('refuses a request without lines', () => {
      given().when({ ...request, lines: [] }).thenThrows(ValidationError);
    });
    it('records nothing as an outcome (there is no request to complete)', () => {
      given().when(completeOk).thenNothing();
    });
    it('records a release of nothing: the caller gets an answer with no lines', () => {
      given().when(release).then(releasedNothing);
    });
    it('commits nothing', () => {
      given().when(commit).thenNothing();
    });
  });

  describe('when the reservation is in progress', () => {
    it('does not record the request twice', () => {
      given(requested).when(request).thenNothing();
    });
    it('records success with the requested lines', () => {
      given(requested).when(completeOk).then(succeeded);
    });
    it('records failure with the shortages', () => {
      given(requested).when(completeShort).then(failed);
    });
    it('refuses a failure that names no shortage', () => {
      given(requested)
        .when({ ...completeShort, outcome: { allReserved: false, shortages: [] } })
        .thenThrows(ValidationError);
    });
    it('refuses to release or commit before the outcome is recorded', () => {
      given(requested).when(release).thenThrows(ConflictError, /in progress/);
      given(requested).when(commit).thenThrows(ConflictError, /in progress/);
    });
  });

  describe('when the reservation succeeded', () => {
    it('decides nothing on a repeated request or a second outcome (the first writer won)', () => {
      given(requested, succeeded).when(request).thenNothing();
      given(requested, succeeded).when(completeShort).thenNothing();
    });
    it('releases every line', () => {
      given(requested, succeeded).when(release).then(releasedAll);
    });
    it('commits every line', () => {
      given(requested, succeeded).when(commit).then(committed);
    });
  });

  describe('when the reservation failed', () => {
    it('decides nothing on a repeated request or a late success', () => {
      given(requested, failed).when(request).thenNothing();
      given(requested, failed).when(completeOk).thenNothing();
    });
    it('records a release of nothing', () => {
      given(requested, failed).when(release).then(releasedNothing);
    });
    it('commits nothing', () => {
      given(requested, failed).when(commit).thenNothing();
    });
  });

  describe('when the reservation was released', () => {
    it('decides nothing more: no second release, no commit, no late request', () => {
      given(requested, succeeded, releasedAll).when(release).thenNothing();
      given(requested, succeeded, releasedAll).when(commit).thenNothing();
      given(releasedNothing).when(request).thenNothing();
    });
  });

  describe('when the reservation was committed', () => {
    it('restocks every committed line on a release (the confirmed order was cancelled)', () => {
      given(requested, succeeded, committed).when(release).then(restocked);
    });
    it('decides nothing on a second commit or a late request', () => {
      given(requested, succeeded, committed).when(commit).thenNothing();
      given(requested, succeeded, committed).when(request).thenNothing();
    });
  });

  describe('when the reservation was restocked', () => {
    it('decides nothing more: no second restock (no second reply), no commit, no late request', () => {
      given(requested, succeeded, committed, restocked).when(release).thenNothing();
      given(requested, succeeded, committed, restocked).when(commit).thenNothing();
      given(requested, succeeded, committed, restocked).when(request).thenNothing();
      given(requested, succeeded, committed, restocked).when(completeOk).thenNothing();
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
