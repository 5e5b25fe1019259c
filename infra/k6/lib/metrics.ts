/**
 * The scenarios' custom metrics. Created when this module loads, i.e. in k6's
 * init context (the only place k6 allows it), once per VU.
 */
import { Counter, Gauge, Rate, Trend } from 'k6/metrics';

/** POST /v1/orders → terminal status, ms: the order's own recorded times (placedAt → terminal status `at`) plus the POST's round trip. */
export const orderTerminalMs = new Trend('order_terminal_ms', true);
/** POST sent → the poll that saw the terminal status, ms (client clock; includes the poll interval). */
export const orderObservedTerminalMs = new Trend('order_observed_terminal_ms', true);
/** Per terminal order: confirmed (true) or not; tagged `payment` (approve, decline, unknown). */
export const ordersConfirmed = new Rate('orders_confirmed');
/** Orders the order service accepted (202), counted by the VUs. */
export const ordersAccepted = new Counter('orders_accepted');
/** The run's orders the teardown found through the order service (compare with orders_accepted). */
export const ordersFound = new Counter('orders_found');
/** Invariant violations found by the teardown (threshold count==0: a broken invariant fails the run). */
export const invariantViolations = new Counter('invariant_violations');
/** Stress: the arrival rate (iterations/s) the ramp offered when an order was placed. */
export const offeredRate = new Gauge('offered_rate');
