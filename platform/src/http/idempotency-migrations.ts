import type { Knex } from 'knex';

/**
 * Responses of idempotent requests, per (scope, key). `owner` identifies the
 * request currently running the handler, so that a request which lost its
 * claim (taken over as stale) cannot overwrite the response of the one that
 * took it.
 *
 * The response is `json`, not `jsonb`: jsonb reorders object keys, and a
 * replay must be byte for byte the response the first request got.
 */
export const idempotencyMigrations: Record<string, Knex.Migration> = {
  '0001_http_idempotency': {
    up: (knex) =>
      knex.raw(`
        create table http_idempotency (
          scope text not null,
          key text not null,
          request_hash text not null,
          state text not null check (state in ('in_progress', 'completed')),
          owner uuid,
          response_status integer,
          response_headers json,
          response_body json,
          created_at timestamptz not null default now(),
          claimed_at timestamptz not null default now(),
          completed_at timestamptz,
          primary key (scope, key)
        );
        create index http_idempotency_created_at on http_idempotency (created_at);`),
    down: (knex) => knex.raw('drop table http_idempotency'),
  },
};
