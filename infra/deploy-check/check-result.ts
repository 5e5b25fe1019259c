/**
 * One line of `npm run infra:check`: a named check, whether it passed, and
 * what it found. Every checker in infra/deploy-check returns these, and the
 * CLI prints them and exits 1 when one is not ok.
 */
export interface CheckResult {
  /** What was checked, e.g. "compose: schema (compose-go)" or "k8s/overlays/k3s: checkov". */
  name: string;
  ok: boolean;
  /** One line per problem; empty when ok. */
  problems: string[];
  /** Set when the check could not run (a tool is missing): says what to install. Counts as not ok. */
  skipped?: string;
}
