/**
 * npm run infra:tools    builds or installs the pinned tools infra:check runs
 *                        (kustomize, actionlint, kubernetes-validate and
 *                        checkov in a venv, the compose validator) and the
 *                        HTTP fuzzer (schemathesis, in a venv of its own)
 *                        into their caches; a second run finds them there
 *                        and does nothing. `.ci/run` calls it before the tests.
 *
 * Prints each tool's path; exits 1 (with what to install) when one cannot be built here.
 */
import { ensureDeployCheckTools, ensureSchemathesis } from './tools';

async function main(): Promise<void> {
  const log = (line: string) => process.stderr.write(`${line}\n`);
  const tools = { ...(await ensureDeployCheckTools(log)), schemathesis: await ensureSchemathesis(log) };
  for (const [name, file] of Object.entries(tools)) process.stdout.write(`${name}: ${file}\n`);
}

main().catch((err: unknown) => {
  process.stderr.write(`infra:tools: ${err instanceof Error ? err.message : String(err)}\n`);
  process.exit(1);
});
