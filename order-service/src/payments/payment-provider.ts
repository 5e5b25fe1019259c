import type { Money } from '../orders/order';

export type AuthorizationResult = { outcome: 'approved'; authorizationId: string } | { outcome: 'declined'; reason: string };

/**
 * The payment-provider port. `authorize` must honour `idempotencyKey`: the
 * same key returns the first answer and never authorizes twice (the order
 * service derives it from the order id, so a redelivered command cannot
 * charge twice). `void` must be idempotent too.
 */
export interface PaymentProvider {
  authorize(paymentToken: string, amount: Money, idempotencyKey: string): Promise<AuthorizationResult>;
  void(authorizationId: string): Promise<void>;
}

/** The provider call's idempotency key for an order's authorization. */
export const authorizationKey = (orderId: string): string => `order-${orderId}-authorization`;
