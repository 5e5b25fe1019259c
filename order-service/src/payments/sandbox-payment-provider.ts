import { createHash } from 'node:crypto';
import type { Money } from '../orders/order';
import type { AuthorizationResult, PaymentProvider } from './payment-provider';

/**
 * Test tokens of the sandbox provider (documented in the README):
 * - `tok_approve`, and any token starting with `tok_ok`: approved;
 * - `tok_decline`: declined with a readable reason;
 * - `tok_no_answer`: never answers (the promise never settles);
 * - anything else: declined as an unknown card.
 */
export const SANDBOX_TOKENS = {
  approve: 'tok_approve',
  approvePrefix: 'tok_ok',
  decline: 'tok_decline',
  noAnswer: 'tok_no_answer',
} as const;

/**
 * An in-process stand-in for a card processor. Its answers depend only on
 * the token, and an authorization's id only on the idempotency key, so the
 * same key gives the same answer even across restarts.
 */
export class SandboxPaymentProvider implements PaymentProvider {
  /** What it was asked to do, for tests and local debugging. */
  readonly authorizations = new Map<string, AuthorizationResult>();
  readonly voided = new Set<string>();

  authorize(paymentToken: string, amount: Money, idempotencyKey: string): Promise<AuthorizationResult> {
    if (paymentToken === SANDBOX_TOKENS.noAnswer) return new Promise<never>(() => undefined);
    const result = this.answer(paymentToken, amount, idempotencyKey);
    this.authorizations.set(idempotencyKey, result);
    return Promise.resolve(result);
  }

  void(authorizationId: string): Promise<void> {
    this.voided.add(authorizationId);
    return Promise.resolve();
  }

  private answer(paymentToken: string, amount: Money, idempotencyKey: string): AuthorizationResult {
    if (paymentToken === SANDBOX_TOKENS.approve || paymentToken.startsWith(SANDBOX_TOKENS.approvePrefix)) {
      const digest = createHash('sha256').update(idempotencyKey).digest('hex').slice(0, 24);
      return { outcome: 'approved', authorizationId: `sbx_auth_${digest}` };
    }
    if (paymentToken === SANDBOX_TOKENS.decline) {
      return { outcome: 'declined', reason: `card declined by the issuer: insufficient funds for ${formatMoney(amount)}` };
    }
    return { outcome: 'declined', reason: 'unknown payment token: the card was not recognised' };
  }
}

const formatMoney = (m: Money) => `${(m.amount / 100).toFixed(2)} ${m.currency}`;
