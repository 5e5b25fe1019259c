import type { Knex } from 'knex';

/**
 * The Postgres bus: a durable, partitioned log in its own database.
 *
 * Offsets are taken from the partition's row, which the publishing
 * transaction keeps locked until it commits: offsets of a partition become
 * visible in order, so a consumer that has read offset N never later finds a
 * smaller one (the same trap as the event store's global position).
 */
const createSchema = `
create table bus_partitions (
  topic text not null,
  partition int not null,
  next_offset bigint not null default 0,
  primary key (topic, partition)
);

create table bus_messages (
  topic text not null,
  partition int not null,
  "offset" bigint not null,
  key text not null,
  value text not null,
  headers jsonb not null,
  published_at timestamptz not null default now(),
  primary key (topic, partition, "offset")
);

-- committed = the next offset the group will read on that partition.
create table bus_group_offsets (
  group_id text not null,
  topic text not null,
  partition int not null,
  committed bigint not null,
  updated_at timestamptz not null default now(),
  primary key (group_id, topic, partition)
);

create table bus_group_members (
  group_id text not null,
  member_id text not null,
  heartbeat_at timestamptz not null default now(),
  primary key (group_id, member_id)
);

-- Publishes a batch: parallel arrays, in order. Partitions are locked in a
-- sorted pass so concurrent publishers queue instead of deadlocking.
create function bus_publish(p_topic text[], p_partition int[], p_key text[], p_value text[], p_headers jsonb)
returns table (topic text, partition int, "offset" bigint)
language plpgsql set plan_cache_mode = force_generic_plan as $$
declare
  target record;
  bases jsonb := '{}'::jsonb;
  base bigint;
begin
  for target in
    select x.t, x.p, count(*) as n
    from unnest(p_topic, p_partition) as x(t, p)
    group by x.t, x.p
    order by x.t, x.p
  loop
    update bus_partitions bp set next_offset = bp.next_offset + target.n
      where bp.topic = target.t and bp.partition = target.p
      returning bp.next_offset - target.n into base;
    if base is null then
      raise exception 'unknown topic partition %/%', target.t, target.p using errcode = 'P0002';
    end if;
    bases := bases || jsonb_build_object(target.t || '/' || target.p, base);
  end loop;

  return query
  with numbered as (
    select i, p_topic[i] as t, p_partition[i] as p,
           (bases->>(p_topic[i] || '/' || p_partition[i]))::bigint
             + row_number() over (partition by p_topic[i], p_partition[i] order by i) - 1 as o
    from generate_subscripts(p_topic, 1) as i
  ), inserted as (
    insert into bus_messages (topic, partition, "offset", key, value, headers)
    select n.t, n.p, n.o, p_key[n.i], p_value[n.i], p_headers->(n.i - 1)
    from numbered n
  )
  select n.t, n.p, n.o from numbered n order by n.i;

  -- Wakes the consumers of exactly these partitions: ',topic/partition,...,'.
  perform pg_notify('bus_published', ',' || array_to_string(array(
    select distinct t || '/' || p from unnest(p_topic, p_partition) as x(t, p)), ',') || ',');
end
$$;
`;

export const busMigrations: Record<string, Knex.Migration> = {
  '0001_bus': {
    up: (knex) => knex.raw(createSchema),
    down: (knex) =>
      knex.raw(
        'drop function bus_publish(text[], int[], text[], text[], jsonb); drop table bus_group_members, bus_group_offsets, bus_messages, bus_partitions;',
      ),
  },
};
