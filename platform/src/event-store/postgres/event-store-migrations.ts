import type { Knex } from 'knex';

/**
 * The event store's schema, as knex migrations. A service runs these against
 * its own database next to its own migrations (see `runMigrations`).
 *
 * Why one global advisory lock: positions are taken while holding it and it is
 * released only after commit, so commit order equals position order and a
 * subscriber that has seen position N can never later find a smaller one
 * (the "sequence assigned at insert, visible at commit" gap). Concurrent
 * appends are merged into one transaction by the adapter's group commit, so
 * the lock is taken once per batch, not once per append.
 */
export const GLOBAL_APPEND_LOCK = 7_460_001;

const createSchema = `
create table es_streams (
  stream_id text primary key,
  revision bigint not null
);

create table es_events (
  global_position bigint primary key,
  event_id uuid not null unique,
  stream_id text not null,
  stream_revision bigint not null,
  category text generated always as (split_part(stream_id, '-', 1)) stored,
  type text not null,
  schema_version integer not null,
  data jsonb not null,
  metadata jsonb not null,
  recorded_at timestamptz not null default now(),
  unique (stream_id, stream_revision)
);
create index es_events_category on es_events (category, global_position);

create function es_expectation_met(expected text, current bigint) returns boolean
language sql immutable as $$
  select case expected
    when 'any' then true
    when 'no_stream' then current = -1
    when 'stream_exists' then current >= 0
    else current = expected::bigint
  end
$$;

-- Appends a batch of appends, each to one stream with its own expectation, in
-- one transaction. Returns one result per append, in order: a failed
-- expectation fails that append only. Input: [{s: stream, e: expected,
-- v: [{id, t: type, sv: schema version, d: data, m: metadata}]}].
create function es_append(batch jsonb) returns jsonb
language plpgsql as $$
declare
  app jsonb;
  results jsonb := '[]'::jsonb;
  sid text;
  expected text;
  evs jsonb;
  n int;
  cur bigint;
  head bigint;
  locked boolean := false;
  dup_count int;
  dup_min bigint;
  dup_max bigint;
  dup_pos bigint;
  dup_same boolean;
  streams text[];
begin
  -- Lock every stream row of the batch in one sorted pass: two batches that
  -- touch the same streams queue up instead of deadlocking.
  select array_agg(distinct a->>'s' order by a->>'s') into streams from jsonb_array_elements(batch) a;
  insert into es_streams (stream_id, revision)
    select s, -1 from unnest(streams) s order by s
    on conflict do nothing;
  perform 1 from es_streams where stream_id = any(streams) order by stream_id for update;

  for app in select value from jsonb_array_elements(batch) loop
    sid := app->>'s';
    expected := app->>'e';
    evs := app->'v';
    n := jsonb_array_length(evs);
    select revision into cur from es_streams where stream_id = sid;

    -- Idempotency: the same event ids again are a retry of an append that
    -- already committed, if they sit contiguously in this stream where the
    -- expectation put them. Anything else reusing an id is an error.
    select count(*), min(stream_revision), max(stream_revision), max(global_position), bool_and(stream_id = sid)
      into dup_count, dup_min, dup_max, dup_pos, dup_same
      from es_events
      where event_id in (select (x->>'id')::uuid from jsonb_array_elements(evs) x);
    if dup_count > 0 then
      if dup_count = n and dup_same and dup_max - dup_min = n - 1 then
        if es_expectation_met(expected, dup_min - 1) then
          results := results || jsonb_build_array(jsonb_build_object('ok', true, 'r', dup_max, 'p', dup_pos));
        else
          results := results || jsonb_build_array(jsonb_build_object('ok', false, 'err', 'wrong_expected_revision', 'a', cur));
        end if;
      else
        results := results || jsonb_build_array(jsonb_build_object('ok', false, 'err', 'duplicate_event_id', 'a', cur));
      end if;
      continue;
    end if;

    if not es_expectation_met(expected, cur) then
      results := results || jsonb_build_array(jsonb_build_object('ok', false, 'err', 'wrong_expected_revision', 'a', cur));
      continue;
    end if;

    if not locked then
      perform pg_advisory_xact_lock(${GLOBAL_APPEND_LOCK});
      -- Under the lock the previous holder has committed and is visible, so
      -- max() is the head and positions stay gap-free.
      select coalesce(max(global_position), 0) into head from es_events;
      locked := true;
    end if;

    insert into es_events (global_position, event_id, stream_id, stream_revision, type, schema_version, data, metadata)
      select head + x.ord, (x.ev->>'id')::uuid, sid, cur + x.ord, x.ev->>'t', (x.ev->>'sv')::int, x.ev->'d', x.ev->'m'
      from jsonb_array_elements(evs) with ordinality as x(ev, ord);
    head := head + n;
    cur := cur + n;
    update es_streams set revision = cur where stream_id = sid;
    results := results || jsonb_build_array(jsonb_build_object('ok', true, 'r', cur, 'p', head));
  end loop;

  if locked then
    perform pg_notify('es_appended', head::text);
  end if;
  return results;
end
$$;
`;

export const eventStoreMigrations: Record<string, Knex.Migration> = {
  '0001_event_store': {
    up: (knex) => knex.raw(createSchema),
    down: (knex) =>
      knex.raw('drop function es_append(jsonb); drop function es_expectation_met(text, bigint); drop table es_events; drop table es_streams;'),
  },
};
