/** The tests' handle on a local stack: the launcher's own harness (infra/local/local-stack.ts), shared with `npm run chaos`. */
export * from '../../local/local-stack';
