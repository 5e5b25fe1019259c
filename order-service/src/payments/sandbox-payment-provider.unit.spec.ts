import { describe, expect, it } from 'vitest';
import { authorizeWithTimeout } from './authorize-with-timeout';
import type { PaymentProvider } from './payment-provider';
import { SandboxPaymentProvider } from './sandbox-payment-provider';

const amount = { amount: 1999, currency: 'EUR' };
const orderId = '0b6f3c1e-2a4d-4e8f-9b1c-7d5e3f2a1b0c';

describe('sandbox payment provider', () => {
  it('approves tok_approve and any tok_ok… token', async () => {
    const sandbox = new SandboxPaymentProvider();
    await expect(sandbox.authorize('tok_approve', amount, 'k1')).resolves.toMatchObject({ outcome: 'approved' });
    await expect(sandbox.authorize('tok_ok_mastercard', amount, 'k2')).resolves.toMatchObject({ outcome: 'approved' });
  });

  it('gives the same authorization for the same idempotency key, and another for another key', async () => {
    const sandbox = new SandboxPaymentProvider();
    const first = await sandbox.authorize('tok_approve', amount, 'order-1');
    const again = await new SandboxPaymentProvider().authorize('tok_approve', amount, 'order-1');
    const other = await sandbox.authorize('tok_approve', amount, 'order-2');
    expect(again).toEqual(first);
    expect(other).not.toEqual(first);
  });

  it('declines tok_decline with a readable reason naming the amount', async () => {
    const answer = await new SandboxPaymentProvider().authorize('tok_decline', amount, 'k');
    expect(answer).toEqual({ outcome: 'declined', reason: expect.stringContaining('19.99 EUR') });
  });

  it('declines a token it does not know', async () => {
    const answer = await new SandboxPaymentProvider().authorize('tok_whatever', amount, 'k');
    expect(answer).toEqual({ outcome: 'declined', reason: expect.stringContaining('unknown payment token') });
  });
});

describe('authorizeWithTimeout', () => {
  it('turns a provider that never answers (tok_no_answer) into a timeout', async () => {
    const answer = await authorizeWithTimeout(new SandboxPaymentProvider(), { orderId, paymentToken: 'tok_no_answer', amount }, 50);
    expect(answer).toEqual({ outcome: 'timed-out' });
  });

  it('passes an answer through, asking with a key derived from the order', async () => {
    const keys: string[] = [];
    const provider: PaymentProvider = {
      authorize: (_token, _amount, key) => {
        keys.push(key);
        return Promise.resolve({ outcome: 'approved', authorizationId: 'auth-1' });
      },
      void: () => Promise.resolve(),
    };
    await authorizeWithTimeout(provider, { orderId, paymentToken: 'tok_approve', amount }, 1_000);
    await authorizeWithTimeout(provider, { orderId, paymentToken: 'tok_approve', amount }, 1_000);
    expect(keys).toEqual([`order-${orderId}-authorization`, `order-${orderId}-authorization`]);
  });

  it('keeps a decline reason within what the contracts accept', async () => {
    const provider: PaymentProvider = {
      authorize: () => Promise.resolve({ outcome: 'declined', reason: 'x'.repeat(2_000) }),
      void: () => Promise.resolve(),
    };
    const answer = await authorizeWithTimeout(provider, { orderId, paymentToken: 't', amount }, 1_000);
    expect(answer.outcome === 'declined' && answer.reason.length).toBe(500);
  });

  it('refuses an approval without an authorization id (a provider fault, retried)', async () => {
    const provider: PaymentProvider = {
      authorize: () => Promise.resolve({ outcome: 'approved', authorizationId: ' ' }),
      void: () => Promise.resolve(),
    };
    await expect(authorizeWithTimeout(provider, { orderId, paymentToken: 't', amount }, 1_000)).rejects.toThrow(/authorization id/);
  });
});
