// Preload for a service process with tracing on (after tsx):
//   node --import tsx --import ./platform/src/observability/register-tracing.mjs <service>/src/main.ts
// When the OTEL_* variables ask for traces, it registers the ESM loader hook
// that lets the OpenTelemetry instrumentations patch express, pg, knex and
// kafkajs when they are imported as ES modules, then starts the SDK, before
// any service module is evaluated. Otherwise it does nothing.
import { register } from 'node:module';
import process from 'node:process';

const { tracingRequested } = await import('./tracing-env.ts');
if (tracingRequested(process.env)) {
  register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);
  const { startTracing } = await import('./tracing-sdk.ts');
  try {
    startTracing(process.env);
  } catch (err) {
    // A setting the SDK cannot honour: say which, and exit as a bad configuration does at start (no stack trace).
    process.stderr.write(`tracing: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exit(1);
  }
}
