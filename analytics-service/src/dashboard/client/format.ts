const fractionDigits = new Map<string, number>();

/** Minor units per major unit of an ISO 4217 currency (100 for EUR, 1 for JPY). */
export function minorUnits(currency: string): number {
  let digits = fractionDigits.get(currency);
  if (digits === undefined) {
    try {
      digits = new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions().maximumFractionDigits ?? 2;
    } catch {
      digits = 2;
    }
    fractionDigits.set(currency, digits);
  }
  return 10 ** digits;
}

export function money(amountMinor: number, currency: string): string {
  try {
    return new Intl.NumberFormat('en', { style: 'currency', currency }).format(amountMinor / minorUnits(currency));
  } catch {
    return `${(amountMinor / 100).toFixed(2)} ${currency}`;
  }
}

export const count = (n: number): string => new Intl.NumberFormat('en').format(n);

export const percent = (ratio: number): string => `${(ratio * 100).toFixed(1)}%`;

export function clock(iso: string | null): string {
  if (!iso) return '—';
  return new Date(iso).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit', hour12: false });
}

export function milliseconds(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${Math.round(ms)} ms`;
}
