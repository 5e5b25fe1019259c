import { randomUUID } from 'node:crypto';
import { contracts, decodeContract } from '@shop/contracts';
import type { Bus, Envelope } from '@shop/platform';

/** A test consumer, in a group of its own, that keeps every envelope it reads from `topic`. */
export async function listen(bus: Bus, topic: string) {
  const received: { envelope: Envelope; data: unknown; key: string }[] = [];
  const consumer = bus.consumer({
    groupId: `test-${randomUUID()}`,
    topics: [topic],
    startFrom: 'earliest',
    handler: async (message) => {
      const { envelope, data } = decodeContract(contracts, message);
      received.push({ envelope, data, key: message.key });
    },
  });
  await consumer.start();
  return {
    received,
    ofType: (type: string, subject?: string) =>
      received.filter((m) => m.envelope.type === type && (subject === undefined || m.envelope.subject === subject)),
    stop: () => consumer.stop(),
  };
}
