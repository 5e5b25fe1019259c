import express, { type Router } from 'express';
import type { Knex } from 'knex';
import type { Pool } from 'pg';
import type { Logger } from 'pino';
import { problemResponse, sendResponse } from './problem';
import { requestContext } from './request-context';

/**
 * A dependency the service cannot serve without. Liveness (`/healthz`) never
 * runs these: a database outage must take the service out of rotation, not
 * get it restarted in a loop.
 */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
  /** 2 s when absent: a check that hangs counts as failed. */
  timeoutMs?: number;
}

export interface CheckResult {
  name: string;
  status: 'ok' | 'fail';
  durationMs: number;
  error?: string;
}

export function databaseReadiness(db: Knex | Pool, name = 'database'): ReadinessCheck {
  return {
    name,
    async check() {
      if ('raw' in db) await db.raw('select 1');
      else await db.query('select 1');
    },
  };
}

export async function runReadinessChecks(checks: readonly ReadinessCheck[]): Promise<CheckResult[]> {
  return Promise.all(
    checks.map(async ({ name, check, timeoutMs = 2_000 }) => {
      const started = performance.now();
      let timer: NodeJS.Timeout | undefined;
      try {
        await Promise.race([
          check(),
          new Promise<never>((_, reject) => {
            timer = setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs);
          }),
        ]);
        return { name, status: 'ok' as const, durationMs: Math.round(performance.now() - started) };
      } catch (err) {
        return {
          name,
          status: 'fail' as const,
          durationMs: Math.round(performance.now() - started),
          error: err instanceof Error ? err.message : String(err),
        };
      } finally {
        clearTimeout(timer);
      }
    }),
  );
}

/**
 * `/healthz` (liveness) and `/readyz` (readiness). `/readyz` tells the outside
 * only "ready" or "not ready": which dependency failed and why (a host name,
 * a driver's message) is for the service's own log, where a not-ready answer
 * writes every check's result at warn.
 */
export function healthRouter(checks: readonly ReadinessCheck[], logger?: Logger): Router {
  const router = express.Router();
  router.get('/healthz', (_req, res) => {
    res.setHeader('Cache-Control', 'no-store').json({ status: 'ok' });
  });
  router.get('/readyz', async (req, res) => {
    const results = await runReadinessChecks(checks);
    const failing = results.filter((r) => r.status === 'fail');
    res.setHeader('Cache-Control', 'no-store');
    if (failing.length === 0) {
      res.json({ status: 'ready' });
      return;
    }
    const { traceId } = requestContext(req);
    logger?.warn({ checks: results, failing: failing.map((r) => r.name), trace_id: traceId }, 'not ready');
    sendResponse(res, problemResponse(503, 'not-ready', 'not ready', { instance: '/readyz', traceId }));
  });
  return router;
}
