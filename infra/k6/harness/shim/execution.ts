import { K6UsageError, state, stringTags, TestAbort } from '../runtime/state';
import { strictModule } from './strict';

/**
 * The `k6/execution` module for one iteration per scenario: exec.scenario,
 * exec.vu, exec.instance, exec.test, with k6's rule that scenario, VU and
 * instance information is not there in the init context (nor, for the
 * scenario, in setup and teardown).
 */

function requireScenario() {
  if (!state.scenario) throw new K6UsageError('getting scenario information outside of the VU context is not supported');
  return state.scenario;
}

function requireNotInit(what: string) {
  if (state.phase === 'init') throw new K6UsageError(`getting ${what} information in the init context is not supported`);
}

const scenario = strictModule('exec.scenario', {
  get name() {
    return requireScenario().name;
  },
  get executor() {
    return requireScenario().executor;
  },
  get startTime() {
    return requireScenario().startTime;
  },
  get progress() {
    requireScenario();
    return 0;
  },
  get iterationInInstance() {
    requireScenario();
    return 0;
  },
  get iterationInTest() {
    requireScenario();
    return 0;
  },
});

const tagsObject = () =>
  new Proxy(state.vuTags, {
    set(target, key, value) {
      if (typeof key === 'symbol') return false;
      Object.assign(target, stringTags({ [key]: value as unknown }));
      return true;
    },
  });

const vu = strictModule('exec.vu', {
  get idInInstance() {
    requireNotInit('VU');
    return state.scenario?.vuId ?? 0;
  },
  get idInTest() {
    requireNotInit('VU');
    return state.scenario?.vuId ?? 0;
  },
  get iterationInInstance() {
    requireNotInit('VU');
    return 0;
  },
  get iterationInScenario() {
    requireNotInit('VU');
    return 0;
  },
  get tags() {
    requireNotInit('VU');
    return tagsObject();
  },
  get metrics() {
    requireNotInit('VU');
    return { tags: tagsObject(), metadata: {} as Record<string, string> };
  },
});

const instance = strictModule('exec.instance', {
  get iterationsInterrupted() {
    requireNotInit('instance');
    return state.iterationsInterrupted;
  },
  get iterationsCompleted() {
    requireNotInit('instance');
    return state.iterationsCompleted;
  },
  get vusActive() {
    requireNotInit('instance');
    return state.scenario ? 1 : 0;
  },
  get vusInitialized() {
    requireNotInit('instance');
    return 1;
  },
  get currentTestRunDuration() {
    requireNotInit('instance');
    return Date.now() - state.startedAt;
  },
});

const test = strictModule('exec.test', {
  abort(reason?: string): never {
    throw new TestAbort(reason === undefined ? 'test aborted' : `test aborted: ${reason}`);
  },
  fail(message?: string): void {
    state.fail(`exec.test.fail() called${message === undefined ? '' : `: ${message}`}`);
  },
  get options() {
    if (state.phase === 'init') throw new K6UsageError('getting test options in the init context is not supported');
    return Object.freeze(structuredClone(state.options));
  },
});

export { instance, scenario, test, vu };
export default strictModule('k6/execution', { scenario, vu, instance, test });
