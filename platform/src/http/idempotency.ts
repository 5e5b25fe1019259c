import { createHash, randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Knex } from 'knex';
import { ConflictError, UnprocessableError, ValidationError } from '../errors/errors';
import { GroupCommit, type ItemOutcome } from '../persistence/group-commit';
import { periodicTask, type PeriodicTask } from '../process/periodic-task';
import type { HttpResponse } from './problem';

/**
 * `Idempotency-Key` for POSTs, backed by the service's Postgres database.
 *
 * What it guarantees: for one (scope, key), the handler runs once and every
 * request with the same method, URL and body gets that run's status, headers
 * and body; a different request under the same key is refused (422). The
 * claim is the primary key of `http_idempotency`, so concurrent first requests
 * race on one INSERT and exactly one wins.
 *
 * What it does not: the handler's own writes are not in the claim's
 * transaction. If the process dies after the handler's effects but before the
 * response is stored, the claim goes stale and a retry runs the handler again
 * (after `staleAfterMs`). Handlers must therefore be idempotent in the domain
 * too (expected stream revisions, ids derived from the key), which the event
 * store makes cheap; the key saves the client from telling a retry from a
 * duplicate, and the service from redoing work in the common case.
 */

export const IDEMPOTENCY_KEY_HEADER = 'Idempotency-Key';
export const IDEMPOTENT_REPLAYED_HEADER = 'Idempotent-Replayed';

export class IdempotencyKeyReusedError extends UnprocessableError {
  override readonly type = 'idempotency-key-reused';
}

export class IdempotencyInProgressError extends ConflictError {
  override readonly type = 'idempotency-in-progress';
}

const KEY = /^[\x20-\x7e]{1,255}$/;

/** The key from the header, or a 400 naming the header. */
export function parseIdempotencyKey(value: string | string[] | undefined): string {
  const key = Array.isArray(value) ? value.join(', ') : value;
  const problem =
    key === undefined || key === ''
      ? `the ${IDEMPOTENCY_KEY_HEADER} header is required on this route`
      : KEY.test(key)
        ? undefined
        : `the ${IDEMPOTENCY_KEY_HEADER} header must be 1 to 255 printable ASCII characters`;
  if (problem) {
    throw new ValidationError(problem, { errors: [{ path: 'headers["idempotency-key"]', message: problem }] });
  }
  return key!;
}

/** Same method, URL and body (key order ignored) → same hash. */
export function requestHash(request: { method: string; url: string; body: unknown }): string {
  return createHash('sha256')
    .update(`${request.method}\n${request.url}\n${request.body === undefined ? '' : canonicalJson(request.body)}`)
    .digest('hex');
}

function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (typeof value === 'object' && value !== null) {
    const entries = Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value) ?? 'null';
}

export interface IdempotencyOptions {
  /** How long a request waits for a concurrent one with the same key; then 409. Default 10 s. */
  waitMs?: number;
  /** A claim older than this is presumed dead (its process crashed) and may be taken over. Default 60 s. */
  staleAfterMs?: number;
  /** `Retry-After` of the 409, in seconds. Default 1. */
  retryAfterSeconds?: number;
}

export interface IdempotentRequest {
  /** Whose keys these are: the authenticated subject, or `anonymous`. */
  scope: string;
  key: string;
  requestHash: string;
}

interface StoredRow {
  request_hash: string;
  state: 'in_progress' | 'completed';
  owner: string | null;
  response_status: number | null;
  response_headers: Record<string, string> | null;
  response_body: unknown;
  body_absent: boolean;
  stale: boolean;
}

interface Completion {
  request: IdempotentRequest;
  owner: string;
  response: HttpResponse;
}

export class IdempotencyStore {
  private readonly waitMs: number;
  private readonly staleAfterMs: number;
  private readonly retryAfterSeconds: number;
  /** Concurrent requests' claims share one INSERT, and their completions one UPDATE (group commit). */
  private readonly claims: GroupCommit<{ request: IdempotentRequest; owner: string }, boolean>;
  private readonly completions: GroupCommit<Completion, void>;

  constructor(
    private readonly db: Knex,
    options: IdempotencyOptions = {},
  ) {
    this.waitMs = options.waitMs ?? 10_000;
    this.staleAfterMs = options.staleAfterMs ?? 60_000;
    this.retryAfterSeconds = options.retryAfterSeconds ?? 1;
    const sameKey = (r: IdempotentRequest) => `${r.scope}\u0000${r.key}`;
    this.claims = new GroupCommit((batch) => this.claimBatch(batch), { exclusiveKey: (c) => sameKey(c.request), maxBatchWeight: 500 });
    this.completions = new GroupCommit((batch) => this.completeBatch(batch), { exclusiveKey: (c) => sameKey(c.request), maxBatchWeight: 500 });
  }

  /**
   * Runs `run` at most once per (scope, key) and returns its response, or
   * the stored one (`replayed: true`). A 5xx outcome, returned or thrown,
   * releases the claim so that a retry runs the handler again; anything else,
   * 4xx included, is stored and replayed.
   */
  async execute(
    request: IdempotentRequest,
    run: () => Promise<HttpResponse>,
  ): Promise<{ response: HttpResponse; replayed: boolean }> {
    const deadline = Date.now() + this.waitMs;
    let pause = 20;
    for (;;) {
      const owner = randomUUID();
      if (await this.claim(request, owner)) return { response: await this.runClaimed(request, owner, run), replayed: false };

      const row = await this.find(request);
      // Released between our insert and our read: try to claim again at once.
      if (!row) continue;
      if (row.request_hash !== request.requestHash) {
        throw new IdempotencyKeyReusedError(
          `the ${IDEMPOTENCY_KEY_HEADER} "${request.key}" was already used for a different request`,
        );
      }
      if (row.state === 'completed') return { response: replayOf(row), replayed: true };
      if (row.stale && row.owner && (await this.takeOver(request, row.owner, owner))) {
        return { response: await this.runClaimed(request, owner, run), replayed: false };
      }
      if (Date.now() >= deadline) {
        throw new IdempotencyInProgressError(
          `a request with ${IDEMPOTENCY_KEY_HEADER} "${request.key}" is still in progress; retry later`,
          {},
          this.retryAfterSeconds,
        );
      }
      await sleep(Math.min(pause, Math.max(1, deadline - Date.now())));
      pause = Math.min(pause * 1.5, 250);
    }
  }

  /** Deletes completed entries older than `olderThanMs`; returns how many. */
  async purgeCompleted(olderThanMs: number): Promise<number> {
    const result = await this.db.raw(
      `delete from http_idempotency where state = 'completed' and created_at < now() - make_interval(secs => ?)`,
      [olderThanMs / 1000],
    );
    return (result as { rowCount: number }).rowCount;
  }

  private claim(request: IdempotentRequest, owner: string): Promise<boolean> {
    return this.claims.submit({ request, owner });
  }

  /** One INSERT for every claim that came in together: each caller learns whether its own row went in. */
  private async claimBatch(batch: { request: IdempotentRequest; owner: string }[]): Promise<ItemOutcome<boolean>[]> {
    const result = (await this.db.raw(
      `insert into http_idempotency (scope, key, request_hash, state, owner)
       select scope, key, request_hash, 'in_progress', owner from unnest(?::text[], ?::text[], ?::text[], ?::uuid[]) as c(scope, key, request_hash, owner)
       on conflict (scope, key) do nothing
       returning owner`,
      [batch.map((c) => c.request.scope), batch.map((c) => c.request.key), batch.map((c) => c.request.requestHash), batch.map((c) => c.owner)],
    )) as { rows: { owner: string }[] };
    const won = new Set(result.rows.map((r) => r.owner));
    return batch.map((c) => ({ ok: true, value: won.has(c.owner) }));
  }

  /** One UPDATE storing every response that came in together, each under its own claim. */
  private async completeBatch(batch: Completion[]): Promise<ItemOutcome<void>[]> {
    await this.db.raw(
      `update http_idempotency h
       set state = 'completed', response_status = c.status, response_headers = c.headers::json, response_body = c.body::json, completed_at = now()
       from unnest(?::text[], ?::text[], ?::uuid[], ?::int[], ?::text[], ?::text[]) as c(scope, key, owner, status, headers, body)
       where h.scope = c.scope and h.key = c.key and h.owner = c.owner and h.state = 'in_progress'`,
      [
        batch.map((c) => c.request.scope),
        batch.map((c) => c.request.key),
        batch.map((c) => c.owner),
        batch.map((c) => c.response.status),
        batch.map((c) => JSON.stringify(c.response.headers)),
        batch.map((c) => (c.response.body === undefined ? null : JSON.stringify(c.response.body))),
      ] as unknown as readonly Knex.RawBinding[],
    );
    return batch.map(() => ({ ok: true, value: undefined }));
  }

  private async takeOver(request: IdempotentRequest, staleOwner: string, owner: string): Promise<boolean> {
    const result = await this.db.raw(
      `update http_idempotency set owner = ?, claimed_at = now()
       where scope = ? and key = ? and state = 'in_progress' and owner = ?
         and claimed_at < now() - make_interval(secs => ?)`,
      [owner, request.scope, request.key, staleOwner, this.staleAfterMs / 1000],
    );
    return (result as { rowCount: number }).rowCount === 1;
  }

  private async find(request: IdempotentRequest): Promise<StoredRow | undefined> {
    const result = await this.db.raw(
      `select request_hash, state, owner, response_status, response_headers, response_body,
              response_body is null as body_absent,
              claimed_at < now() - make_interval(secs => ?) as stale
       from http_idempotency where scope = ? and key = ?`,
      [this.staleAfterMs / 1000, request.scope, request.key],
    );
    return (result as { rows: StoredRow[] }).rows[0];
  }

  private async runClaimed(
    request: IdempotentRequest,
    owner: string,
    run: () => Promise<HttpResponse>,
  ): Promise<HttpResponse> {
    let response: HttpResponse;
    try {
      response = await run();
    } catch (err) {
      await this.release(request, owner);
      throw err;
    }
    if (response.status >= 500) {
      await this.release(request, owner);
      return response;
    }
    try {
      await this.completions.submit({ request, owner, response });
    } catch (err) {
      await this.release(request, owner);
      throw err;
    }
    return response;
  }

  private async release(request: IdempotentRequest, owner: string): Promise<void> {
    // If this fails too (database gone), the claim stays in progress and
    // becomes stale after `staleAfterMs`, when a retry may take it over.
    await this.db
      .raw(`delete from http_idempotency where scope = ? and key = ? and owner = ? and state = 'in_progress'`, [
        request.scope,
        request.key,
        owner,
      ])
      .catch(() => undefined);
  }
}

/**
 * Expires idempotency records on a schedule: every `everyMs`, the completed
 * ones older than `retentionMs` are deleted (a retry after that runs the
 * handler again, which the domain must absorb — see the class comment). In
 * progress claims are never deleted here: a stale one is taken over by the
 * next retry. A failed purge is logged and tried again at the next tick.
 */
export function idempotencyPurgeSchedule(
  store: Pick<IdempotencyStore, 'purgeCompleted'>,
  options: { retentionMs: number; everyMs: number; logger?: { info(o: object, m: string): void; warn(o: object, m: string): void } },
): PeriodicTask<number> {
  return periodicTask('idempotency record expiry', options.everyMs, () => store.purgeCompleted(options.retentionMs), {
    onDone: (deleted) => deleted > 0 && options.logger?.info({ deleted, retentionMs: options.retentionMs }, 'expired idempotency records'),
    onError: (err) => options.logger?.warn({ err }, 'expiring idempotency records failed; trying again at the next tick'),
  });
}

function replayOf(row: StoredRow): HttpResponse {
  const response: HttpResponse = {
    status: row.response_status!,
    headers: { ...row.response_headers, [IDEMPOTENT_REPLAYED_HEADER]: 'true' },
  };
  if (!row.body_absent) response.body = row.response_body;
  return response;
}
