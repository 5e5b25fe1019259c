import { runScenarioOnce } from './run-once';

/**
 * npm run k6:once -- [-e KEY=VALUE]... [--strict-http] [--report-dir DIR] <scenario.ts>...
 *
 * Runs each k6 script once through the test-only harness (not a load test:
 * see infra/k6/harness/README.md) and prints one JSON result line per script
 * on stdout; the scripts' console output and handleSummary()'s stdout go to
 * stderr. Exits 1 when any run failed, 2 on a usage error. `__ENV` is the
 * process environment plus the -e pairs, as with `k6 run`.
 */

const USAGE = 'usage: npm run k6:once -- [-e KEY=VALUE]... [--strict-http] [--report-dir DIR] <scenario.ts>...';

function parse(argv: string[]) {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(process.env)) if (v !== undefined) env[k] = v;
  const files: string[] = [];
  let strictHttp = false;
  let reportDir: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '-e' || arg === '--env') {
      const pair = argv[++i] ?? '';
      const at = pair.indexOf('=');
      if (at <= 0) throw new Error(`${arg} needs KEY=VALUE, got '${pair}'`);
      env[pair.slice(0, at)] = pair.slice(at + 1);
    } else if (arg === '--strict-http') strictHttp = true;
    else if (arg === '--report-dir') {
      reportDir = argv[++i];
      if (!reportDir) throw new Error('--report-dir needs a directory');
    } else if (arg === '-h' || arg === '--help') {
      console.log(USAGE);
      process.exit(0);
    } else if (arg.startsWith('-')) throw new Error(`unknown option ${arg}`);
    else files.push(arg);
  }
  if (files.length === 0) throw new Error('no scenario given');
  return { env, files, strictHttp, reportDir };
}

let args: ReturnType<typeof parse>;
try {
  args = parse(process.argv.slice(2));
} catch (err) {
  console.error(`${(err as Error).message}\n${USAGE}`);
  process.exit(2);
}

let allOk = true;
for (const file of args.files) {
  const result = await runScenarioOnce(file, { env: args.env, strictHttp: args.strictHttp, ...(args.reportDir ? { reportDir: args.reportDir } : {}) });
  if (result.output) process.stderr.write(result.output.endsWith('\n') ? result.output : `${result.output}\n`);
  const { output: _output, ...printed } = result;
  console.log(JSON.stringify(printed));
  allOk &&= result.ok;
}
process.exit(allOk ? 0 : 1);
