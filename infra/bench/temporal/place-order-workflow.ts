/**
 * The platform's place-order saga as a Temporal workflow (run by
 * `temporal-worker.ts`, bundled by the Temporal worker into its workflow
 * sandbox: it imports nothing but `@temporalio/workflow` and types).
 *
 * The same shape as the coordinator's saga: price the line -> reserve stock
 * -> authorize the payment -> confirm the order; a declined payment (or any
 * failed step) compensates what succeeded in reverse (void the payment,
 * release the stock) and rejects the order with the reason. Each step is an
 * activity doing what the platform's participant does durably: one event
 * appended to the order's stream with an expected revision, in one
 * Postgres transaction (`place-order-activities.ts`). The workflow knows the
 * stream's revision, since only its own steps write to the stream.
 */
import { ApplicationFailure, proxyActivities } from '@temporalio/workflow';
import type { PlaceOrderActivities, PlaceOrderInput, StepInput } from './place-order-activities';

export interface PlaceOrderResult {
  status: 'confirmed' | 'rejected';
  reason?: string;
}

const steps = proxyActivities<PlaceOrderActivities>({
  // The coordinator's step deadline; a step is retried with backoff within it.
  startToCloseTimeout: '10 seconds',
  retry: { initialInterval: '100 milliseconds', backoffCoefficient: 2, maximumInterval: '2 seconds', maximumAttempts: 10 },
});

export async function placeOrder(input: PlaceOrderInput): Promise<PlaceOrderResult> {
  /** Revision of the order stream's last event: -1 before the first step. */
  let revision = -1;
  const step = async <R extends { revision: number }>(run: (s: StepInput) => Promise<R>): Promise<R> => {
    const result = await run({ ...input, expectedRevision: revision });
    revision = result.revision;
    return result;
  };
  const compensations: ((s: StepInput) => Promise<{ revision: number }>)[] = [];
  try {
    const { amount } = await step(steps.priceLines);
    await step(steps.reserveStock);
    compensations.unshift(steps.releaseStock);
    const payment = await step((s) => steps.authorizePayment({ ...s, amount }));
    if (!payment.approved) throw ApplicationFailure.nonRetryable(payment.reason ?? 'payment declined', 'PaymentDeclined');
    compensations.unshift(steps.voidPayment);
    await step(steps.confirmOrder);
    return { status: 'confirmed' };
  } catch (err) {
    const reason = err instanceof ApplicationFailure ? err.message : 'a step failed';
    for (const undo of compensations) await step(undo);
    await step((s) => steps.rejectOrder({ ...s, reason }));
    return { status: 'rejected', reason };
  }
}
