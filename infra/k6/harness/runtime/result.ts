import type { ThresholdSpec } from './options';
import type { RequestRecord } from './state';

/** What the child runner reports for one scenario file (and runScenarioOnce returns, plus the process output). */
export interface ChildResult {
  ok: boolean;
  /** Why the run failed: each failed check, exception, fail() call, invalid option or threshold. Empty when ok. */
  reasons: string[];
  /** Noted, not failing: unknown params, requests k6 would count in http_req_failed. */
  warnings: string[];
  scenarios: Array<{ name: string; executor: string; exec: string; ok: boolean; error?: string }>;
  checks: Array<{ name: string; path: string; passes: number; fails: number }>;
  requests: RequestRecord[];
  thresholds: ThresholdSpec[];
  /** Files handleSummary() returned, as written (absolute paths). */
  summaryFiles: string[];
  /** The `stdout` entry handleSummary() returned. */
  summaryStdout: string;
}

export interface ChildConfig {
  env: Record<string, string>;
  resultFile: string;
  /** Fail the run when a request counted as failed by http_req_failed (k6's expected-status rule). */
  strictHttp: boolean;
}
