import type { PaymentAnswer } from '../orders/decide';
import type { Money } from '../orders/order';
import { authorizationKey, type AuthorizationResult, type PaymentProvider } from './payment-provider';

/** The contracts carry reasons of 1 to 500 characters. */
const MAX_REASON = 500;

/**
 * Asks the provider, giving up after `timeoutMs`: a provider that never
 * answers must not hold the command consumer's partition forever. The late
 * answer, if one ever comes, is dropped; the coordinator's deadline
 * compensates for the missing reply.
 */
export async function authorizeWithTimeout(
  provider: PaymentProvider,
  request: { orderId: string; paymentToken: string; amount: Money },
  timeoutMs: number,
): Promise<PaymentAnswer> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<PaymentAnswer>((resolve) => {
    timer = setTimeout(() => resolve({ outcome: 'timed-out' }), timeoutMs);
  });
  try {
    const answer = provider
      .authorize(request.paymentToken, request.amount, authorizationKey(request.orderId))
      .then(checkedAnswer);
    return await Promise.race([answer, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What a provider says must fit the events and contracts it becomes; an approval without an id is a provider fault. */
function checkedAnswer(result: AuthorizationResult): PaymentAnswer {
  if (result.outcome === 'approved') {
    if (result.authorizationId.trim() === '') throw new Error('the payment provider approved without an authorization id');
    return result;
  }
  const reason = result.reason.trim().slice(0, MAX_REASON);
  return { outcome: 'declined', reason: reason === '' ? 'declined by the payment provider' : reason };
}
