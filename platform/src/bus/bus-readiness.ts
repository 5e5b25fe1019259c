import type { Bus, Consumer } from './bus';

/** A /readyz check: the bus answers. */
export function busReadiness(bus: Bus): { name: string; check(): Promise<void> } {
  return { name: 'bus', check: () => bus.ping() };
}

/**
 * A /readyz check: the consumer is joined and connected. A consumer that lost
 * its connection turns the service not-ready until it has rejoined.
 */
export function consumerReadiness(name: string, consumer: Consumer): { name: string; check(): Promise<void> } {
  return {
    name: `consumer:${name}`,
    check: () => {
      if (consumer.healthy()) return Promise.resolve();
      const s = consumer.status();
      return Promise.reject(new Error(`consumer ${name} is ${s.state}${s.lastError ? `: ${s.lastError}` : ''}`));
    },
  };
}
