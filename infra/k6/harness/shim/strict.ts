/**
 * Wraps a shim object so that reading a property the harness does not
 * implement throws a clear error (instead of handing the script `undefined`,
 * which could pass silently where real k6 behaves differently).
 */
const PASS_THROUGH = new Set(['then', 'toJSON', 'constructor', 'valueOf', 'toString', 'inspect', '__esModule', 'asymmetricMatch', 'nodeType', '$$typeof']);

export function strictModule<T extends object>(what: string, target: T): T {
  return new Proxy(target, {
    get(obj, prop, receiver) {
      if (typeof prop === 'symbol' || prop in obj || PASS_THROUGH.has(prop)) return Reflect.get(obj, prop, receiver) as unknown;
      throw new Error(`${what}.${prop} is not implemented by the k6 once-harness (infra/k6/harness/README.md lists what is)`);
    },
  });
}
