import { describe, expect, it } from 'vitest';
import { loadConfig } from '@shop/platform';
import { configError } from '@shop/platform/testing';
import { configShape } from './config';

const valid = { SHOP_ENV: 'test', DATABASE_URL: 'postgres://orders:pw@127.0.0.1:5432/orders' };

describe('order-service configuration', () => {
  describe('ORDER_PLACED_VERSION', () => {
    it('publishes the current order.placed (v2) unless told otherwise', () => {
      expect(loadConfig(configShape, valid).ORDER_PLACED_VERSION).toBe(2);
    });

    it('publishes v1 when set to 1, for a consumer that still reads only v1', () => {
      expect(loadConfig(configShape, { ...valid, ORDER_PLACED_VERSION: '1' }).ORDER_PLACED_VERSION).toBe(1);
    });

    it('refuses a version order.placed cannot be built at, naming the ones it can', () => {
      for (const bad of ['3', '0', 'v2', '1.5']) {
        expect(configError(() => loadConfig(configShape, { ...valid, ORDER_PLACED_VERSION: bad })).problems, bad).toEqual([
          { variable: 'ORDER_PLACED_VERSION', message: expect.stringMatching(/^expected /) },
        ]);
      }
      expect(configError(() => loadConfig(configShape, { ...valid, ORDER_PLACED_VERSION: '3' })).problems[0]!.message).toBe('expected one of 2, 1');
    });
  });
});
