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

-- The slow path of es_append, for a batch in which some event id is already
-- stored: appends one by one, telling a retry of a committed append (a no-op)
-- from a reuse of ids (an error).
create function es_append_retries(
  a_stream text[], a_expected text[],
  e_app int[], e_id uuid[], e_type text[], e_sv int[], e_data jsonb, e_meta jsonb
) returns table (appended boolean, failure text, last_revision bigint, last_position bigint)
language plpgsql as $$
declare
  n int := cardinality(a_stream);
  m int := cardinality(e_app);
  revs jsonb;
  cnt int[] := array_fill(0, array[n]);
  r_ok boolean[] := array_fill(false, array[n]);
  r_err text[] := array_fill(null::text, array[n]);
  r_rev bigint[] := array_fill(null::bigint, array[n]);
  r_pos bigint[] := array_fill(null::bigint, array[n]);
  base_rev bigint[] := array_fill(null::bigint, array[n]);
  base_pos bigint[] := array_fill(null::bigint, array[n]);
  accepted int := 0;
  head bigint;
  cur bigint;
  i int;
  dups int;
  ids uuid[];
  dup_count int;
  dup_min bigint;
  dup_max bigint;
  dup_pos bigint;
  dup_same boolean;
begin
  for i in 1..m loop
    cnt[e_app[i]] := cnt[e_app[i]] + 1;
  end loop;

  -- Everything from here to commit runs under the global lock: stream
  -- revisions read now cannot change before we insert, so no per-stream lock
  -- or stream table is needed, and the head read below is final.
  perform pg_advisory_xact_lock(${GLOBAL_APPEND_LOCK});
  select jsonb_object_agg(s, coalesce((select max(stream_revision) from es_events where stream_id = s), -1))
    into revs
    from (select distinct unnest(a_stream) as s) streams;

  select count(*) into dups from es_events where event_id = any(e_id);

  for i in 1..n loop
    cur := (revs->>a_stream[i])::bigint;
    if dups > 0 then
      -- Idempotency: the same event ids again are a retry of an append that
      -- already committed, if they sit contiguously in this stream where the
      -- expectation put them. Anything else reusing an id is an error.
      ids := array(select e_id[k] from generate_subscripts(e_app, 1) k where e_app[k] = i);
      select count(*), min(stream_revision), max(stream_revision), max(global_position), bool_and(stream_id = a_stream[i])
        into dup_count, dup_min, dup_max, dup_pos, dup_same
        from es_events where event_id = any(ids);
      if dup_count > 0 then
        if dup_count = cnt[i] and dup_same and dup_max - dup_min = cnt[i] - 1 then
          if es_expectation_met(a_expected[i], dup_min - 1) then
            r_ok[i] := true; r_rev[i] := dup_max; r_pos[i] := dup_pos;
          else
            r_err[i] := 'wrong_expected_revision'; r_rev[i] := cur;
          end if;
        else
          r_err[i] := 'duplicate_event_id'; r_rev[i] := cur;
        end if;
        continue;
      end if;
    end if;
    if not es_expectation_met(a_expected[i], cur) then
      r_err[i] := 'wrong_expected_revision'; r_rev[i] := cur;
      continue;
    end if;
    base_rev[i] := cur;
    base_pos[i] := accepted;
    accepted := accepted + cnt[i];
    revs := jsonb_set(revs, array[a_stream[i]], to_jsonb(cur + cnt[i]));
    r_ok[i] := true;
    r_rev[i] := cur + cnt[i];
  end loop;

  if accepted > 0 then
    -- The previous holder of the lock has committed and is visible, so max()
    -- is the head and positions stay gap-free.
    select coalesce(max(global_position), 0) into head from es_events;

    insert into es_events (global_position, event_id, stream_id, stream_revision, type, schema_version, data, metadata)
      select head + base_pos[e.app] + e.ord, e_id[e.k], a_stream[e.app], base_rev[e.app] + e.ord,
             e_type[e.k], e_sv[e.k], e_data->(e.k - 1), e_meta->(e.k - 1)
      from (
        select k, e_app[k] as app, (k - min(k) over (partition by e_app[k]) + 1) as ord
        from generate_subscripts(e_app, 1) k
      ) e
      where base_rev[e.app] is not null;

    for i in 1..n loop
      if base_rev[i] is not null then
        r_pos[i] := head + base_pos[i] + cnt[i];
      end if;
    end loop;

    perform pg_notify('es_appended', (head + accepted)::text);
  end if;

  return query select * from unnest(r_ok, r_err, r_rev, r_pos);
end
$$;

-- Appends a batch of appends, each to a different stream with its own
-- expectation, in one transaction and a handful of statements whatever the
-- batch size. Returns one row per append, in order: a failed expectation fails
-- that append only. Appends come as parallel arrays (a_*; a_count is the
-- number of events of each), their events flattened in append order (e_*;
-- e_app is the 1-based append index; data and metadata are JSON arrays).
create function es_append(
  a_stream text[], a_expected text[], a_count int[],
  e_app int[], e_id uuid[], e_type text[], e_sv int[], e_data jsonb, e_meta jsonb
) returns table (appended boolean, failure text, last_revision bigint, last_position bigint)
-- A generic plan: the default re-plans the statements below on every call
-- (their parameters are arrays), which costs more than running them.
language plpgsql set plan_cache_mode = force_generic_plan as $$
declare
  head bigint;
  r_ok boolean[];
  r_rev bigint[];
  r_pos bigint[];
begin
  -- Everything from here to commit runs under the global lock: revisions read
  -- now cannot change before the insert, so no per-stream lock is needed, and
  -- the previous holder has committed, so max() is the head and positions
  -- stay gap-free.
  perform pg_advisory_xact_lock(${GLOBAL_APPEND_LOCK});
  -- (count, not exists: with exists the planner bets on finding a row early and scans the table.)
  if (select count(*) from es_events where event_id = any(e_id)) > 0 then
    return query select * from es_append_retries(a_stream, a_expected, e_app, e_id, e_type, e_sv, e_data, e_meta);
    return;
  end if;
  select coalesce(max(global_position), 0) into head from es_events;

  with checked as (
    select t.i, t.s, a_count[t.i] as n, cur.rev as cur, es_expectation_met(a_expected[t.i], cur.rev) as met
    from unnest(a_stream) with ordinality as t(s, i)
    cross join lateral (select coalesce(max(stream_revision), -1) as rev from es_events where stream_id = t.s) cur
  ), placed as (
    select c.*,
           coalesce(sum(case when met then n else 0 end) over (order by i rows between unbounded preceding and 1 preceding), 0) as base_pos,
           coalesce(sum(n) over (order by i rows between unbounded preceding and 1 preceding), 0) as first_event
    from checked c
  ), inserted as (
    insert into es_events (global_position, event_id, stream_id, stream_revision, type, schema_version, data, metadata)
    select head + p.base_pos + k, e_id[p.first_event + k], p.s, p.cur + k,
           e_type[p.first_event + k], e_sv[p.first_event + k], e_data->(p.first_event + k - 1)::int, e_meta->(p.first_event + k - 1)::int
    from placed p cross join lateral generate_series(1, p.n) as k
    where p.met
  )
  select array_agg(met order by i),
         array_agg(case when met then cur + n else cur end order by i),
         array_agg(case when met then head + base_pos + n end order by i)
    into r_ok, r_rev, r_pos
    from placed;

  if true = any(r_ok) then
    perform pg_notify('es_appended', (select max(p) from unnest(r_pos) p)::text);
  end if;
  return query
    select ok, case when ok then null else 'wrong_expected_revision' end, rev, pos
    from unnest(r_ok, r_rev, r_pos) as r(ok, rev, pos);
end
$$;
`;

/**
 * One unit of work, all or nothing, in one statement: events appended to any
 * number of streams, each stream's expectation checked (a stream that was
 * only read comes with zero events and the revision it was read at, so a
 * decision taken on a state someone has since changed is refused too), and,
 * for a consumer, the ids of the messages whose effects these are recorded
 * in its inbox, in the same transaction. Events are inserted in the order
 * given (e_app: the 1-based index of each event's stream), so the global log
 * keeps the order in which they were decided, across streams.
 *
 * Returns one row per stream: ok, its revision after the commit and the
 * position of its last event (null when it had none). Nothing is written
 * when it fails: rows with ok = false name the streams whose expectation
 * failed ('wrong_expected_revision', with their actual revision), the
 * messages already in the inbox ('already_handled', message id in
 * stream_id), or 'duplicate_event_id'. A unit whose every event id is
 * already stored, each in the stream it names, is a retry of a committed
 * unit: it succeeds without writing anything.
 */
const createCommit = `
create function es_commit(
  i_consumer text, i_ids text[],
  a_stream text[], a_expected text[],
  e_app int[], e_id uuid[], e_type text[], e_sv int[], e_data jsonb, e_meta jsonb
) returns table (ok boolean, failure text, stream_id text, revision bigint, last_position bigint)
language plpgsql set plan_cache_mode = force_generic_plan as $$
declare
  head bigint;
  cur bigint[];
  found_ids int;
begin
  -- Under the global lock until commit: revisions, the inbox and the head
  -- read now cannot change before the inserts (see es_append).
  perform pg_advisory_xact_lock(${GLOBAL_APPEND_LOCK});

  if i_consumer is not null and cardinality(i_ids) > 0 then
    if exists (select 1 from inbox_messages m where m.consumer = i_consumer and m.message_id = any(i_ids)) then
      return query select false, 'already_handled'::text, m.message_id, null::bigint, null::bigint
        from inbox_messages m where m.consumer = i_consumer and m.message_id = any(i_ids);
      return;
    end if;
  end if;

  select array_agg(coalesce(r.rev, -1) order by t.i) into cur
    from unnest(a_stream) with ordinality as t(s, i)
    cross join lateral (select max(e.stream_revision) as rev from es_events e where e.stream_id = t.s) r;

  found_ids := 0;
  if cardinality(e_id) > 0 then
    select count(*) into found_ids from es_events e where e.event_id = any(e_id);
    -- Every event already stored, each in its own stream: a retry of this very unit, which committed.
    if found_ids = cardinality(e_id) and not exists (
      select 1 from unnest(e_id, e_app) as x(id, app) join es_events e on e.event_id = x.id where e.stream_id <> a_stream[x.app]
    ) then
      if i_consumer is not null and cardinality(i_ids) > 0 then
        insert into inbox_messages (consumer, message_id) select i_consumer, unnest(i_ids) on conflict do nothing;
      end if;
      return query select true, null::text, t.s, cur[t.i],
          (select max(e.global_position) from es_events e where e.stream_id = t.s and e.event_id = any(e_id))
        from unnest(a_stream) with ordinality as t(s, i);
      return;
    end if;
  end if;

  -- Expectations before duplicate ids: a decision taken on a stale state
  -- repeats events that are stored already, and is a conflict to decide
  -- again, not a reuse of ids.
  if exists (select 1 from generate_subscripts(a_stream, 1) i where not es_expectation_met(a_expected[i], cur[i])) then
    return query select false, 'wrong_expected_revision'::text, a_stream[i], cur[i], null::bigint
      from generate_subscripts(a_stream, 1) i where not es_expectation_met(a_expected[i], cur[i]);
    return;
  end if;
  if found_ids > 0 then
    return query select false, 'duplicate_event_id'::text, null::text, null::bigint, null::bigint;
    return;
  end if;

  if cardinality(e_id) > 0 then
    select coalesce(max(global_position), 0) into head from es_events;
    insert into es_events (global_position, event_id, stream_id, stream_revision, type, schema_version, data, metadata)
      select head + k, e_id[k], a_stream[e_app[k]], cur[e_app[k]] + row_number() over (partition by e_app[k] order by k),
             e_type[k], e_sv[k], e_data->(k - 1), e_meta->(k - 1)
      from generate_subscripts(e_id, 1) k;
    perform pg_notify('es_appended', (head + cardinality(e_id))::text);
  end if;
  if i_consumer is not null and cardinality(i_ids) > 0 then
    insert into inbox_messages (consumer, message_id) select i_consumer, unnest(i_ids);
  end if;

  return query
    select true, null::text, t.s, cur[t.i] + coalesce(n.cnt, 0), head + n.last_k
    from unnest(a_stream) with ordinality as t(s, i)
    left join (select x.app, count(*) as cnt, max(x.k) as last_k from unnest(e_app) with ordinality as x(app, k) group by x.app) n
      on n.app = t.i;
end
$$;
`;

export const eventStoreMigrations: Record<string, Knex.Migration> = {
  '0001_event_store': {
    up: (knex) => knex.raw(createSchema),
    down: (knex) =>
      knex.raw('drop function es_append(text[], text[], int[], int[], uuid[], text[], int[], jsonb, jsonb); drop function es_append_retries(text[], text[], int[], uuid[], text[], int[], jsonb, jsonb); drop function es_expectation_met(text, bigint); drop table es_events;'),
  },
  '0002_es_commit': {
    up: (knex) => knex.raw(createCommit),
    down: (knex) => knex.raw('drop function es_commit(text, text[], text[], text[], int[], uuid[], text[], int[], jsonb, jsonb)'),
  },
};
