import type { Projection } from '@shop/platform';
import { alertsProjection } from '../alerts/read-models/alerts/projection';
import { liveOrdersProjection } from './live-orders/projection';
import { orderFunnelProjection } from './order-funnel/projection';
import { productSalesProjection } from './product-sales/projection';
import { revenueProjection } from './revenue/projection';
import { sagaDurationsProjection } from './saga-durations/projection';
import { stockLevelsProjection } from './stock-levels/projection';

/** Every projection of analytics, each over the archive (its own event store), in the order of `PROJECTION_NAMES`. */
export function allProjections(): Projection[] {
  return [
    orderFunnelProjection(),
    revenueProjection(),
    productSalesProjection(),
    stockLevelsProjection(),
    liveOrdersProjection(),
    sagaDurationsProjection(),
    alertsProjection,
  ];
}
