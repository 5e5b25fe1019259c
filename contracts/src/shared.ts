import { z } from 'zod';

export const Sku = z.string().regex(/^[A-Z0-9][A-Z0-9-]{1,31}$/, 'a SKU is 2-32 upper-case letters, digits and dashes');
export const Currency = z.string().regex(/^[A-Z]{3}$/, 'an ISO 4217 currency code');
/** Money in minor units (cents), never floating point. */
export const Money = z.object({ amount: z.number().int().min(0).max(1_000_000_000_00), currency: Currency });
export const Quantity = z.number().int().min(1).max(10_000);
export const OrderLine = z.object({ sku: Sku, quantity: Quantity });
export const PricedLine = OrderLine.extend({ unitPrice: Money, lineTotal: Money });
export const OrderId = z.uuid();
export const Timestamp = z.iso.datetime({ offset: true });

export type Money = z.infer<typeof Money>;
export type OrderLine = z.infer<typeof OrderLine>;
export type PricedLine = z.infer<typeof PricedLine>;
