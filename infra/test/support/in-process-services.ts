import { startServiceForTest, type ServiceUnderTest } from '@shop/platform/testing';
import { analyticsService } from '../../../analytics-service/src/composition';
import { catalogService } from '../../../catalog-service/src/composition';
import { coordinatorService } from '../../../coordinator-service/src/composition';
import { inventoryService } from '../../../inventory-service/src/composition';
import { orderService } from '../../../order-service/src/composition';

/**
 * The five services, each started in-process as the stack runs it (the
 * platform's harness, a real database of its own); `env` adds to or
 * overrides the harness's test environment.
 */
export const IN_PROCESS_SERVICES: { name: string; start(label: string, env?: Record<string, string>): Promise<ServiceUnderTest> }[] = [
  { name: 'catalog-service', start: (label, env = {}) => startServiceForTest(catalogService, { label, env }) },
  { name: 'inventory-service', start: (label, env = {}) => startServiceForTest(inventoryService, { label, env }) },
  { name: 'order-service', start: (label, env = {}) => startServiceForTest(orderService, { label, env: { PAYMENT_TIMEOUT: '200ms', ...env } }) },
  { name: 'coordinator-service', start: (label, env = {}) => startServiceForTest(coordinatorService, { label, env }) },
  { name: 'analytics-service', start: (label, env = {}) => startServiceForTest(analyticsService, { label, env }) },
];
