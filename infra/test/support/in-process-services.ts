import { startServiceForTest, type ServiceUnderTest } from '@shop/platform/testing';
import { analyticsService } from '../../../analytics-service/src/composition';
import { catalogService } from '../../../catalog-service/src/composition';
import { coordinatorService } from '../../../coordinator-service/src/composition';
import { inventoryService } from '../../../inventory-service/src/composition';
import { orderService } from '../../../order-service/src/composition';

/** The five services, each started in-process as the stack runs it (the platform's harness, a real database of its own). */
export const IN_PROCESS_SERVICES: { name: string; start(label: string): Promise<ServiceUnderTest> }[] = [
  { name: 'catalog-service', start: (label) => startServiceForTest(catalogService, { label }) },
  { name: 'inventory-service', start: (label) => startServiceForTest(inventoryService, { label }) },
  { name: 'order-service', start: (label) => startServiceForTest(orderService, { label, env: { PAYMENT_TIMEOUT: '200ms' } }) },
  { name: 'coordinator-service', start: (label) => startServiceForTest(coordinatorService, { label }) },
  { name: 'analytics-service', start: (label) => startServiceForTest(analyticsService, { label }) },
];
