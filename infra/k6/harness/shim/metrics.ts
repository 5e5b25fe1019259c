import { type MetricDef, type MetricType, state, stringTags } from '../runtime/state';
import { strictModule } from './strict';

/** The `k6/metrics` module: Counter, Gauge, Rate, Trend, each with add(value, tags). */

abstract class Metric {
  readonly name: string;
  readonly #def: MetricDef;

  constructor(type: MetricType, name: string, isTime?: boolean) {
    this.#def = state.defineMetric(name, type, Boolean(isTime));
    this.name = name;
  }

  add(value: number | boolean, tags?: Record<string, unknown>): boolean {
    if (state.phase === 'init') throw new Error(`adding to metric '${this.name}' is not supported in the init context`);
    // k6 takes numbers and booleans (true = 1); anything else is a script bug (k6 warns and drops it): it fails the run here.
    const numeric = typeof value === 'boolean' ? (value ? 1 : 0) : value;
    if (typeof numeric !== 'number' || !Number.isFinite(numeric)) {
      state.fail(`'${String(value)}' is an invalid value for metric '${this.name}', a number or a boolean value is expected`);
      return false;
    }
    state.addSample(this.#def.name, numeric, tags === undefined || tags === null ? {} : stringTags(tags));
    return true;
  }
}

export class Counter extends Metric {
  constructor(name: string, isTime?: boolean) {
    super('counter', name, isTime);
  }
}

export class Gauge extends Metric {
  constructor(name: string, isTime?: boolean) {
    super('gauge', name, isTime);
  }
}

export class Rate extends Metric {
  constructor(name: string, isTime?: boolean) {
    super('rate', name, isTime);
  }
}

export class Trend extends Metric {
  constructor(name: string, isTime?: boolean) {
    super('trend', name, isTime);
  }
}

export default strictModule('k6/metrics', { Counter, Gauge, Rate, Trend });
