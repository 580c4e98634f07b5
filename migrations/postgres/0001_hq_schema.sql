-- HQ schema for edge gateways (see docs/sync.md). Applied by `npx gateway hq migrate` in order,
-- once each (table hq_schema_migrations), with search_path set to HQ_SCHEMA; functions pin that
-- search_path (SET search_path FROM CURRENT) so triggers work whatever the caller's path is.
-- Tables carry the edge's names and columns plus site_id; times are timestamptz; _clocks holds
-- the hybrid logical clock of every column (per-column last-writer-wins), _deleted a tombstone.

CREATE TABLE sync_sites (
  site_id integer PRIMARY KEY CHECK (site_id BETWEEN 1 AND 1023),
  role_name text NOT NULL UNIQUE,
  created_at timestamptz NOT NULL DEFAULT now()
);

-- The role a site logs in with maps to its site number; every row-level policy asks this.
CREATE FUNCTION gw_site() RETURNS integer LANGUAGE sql STABLE SET search_path FROM CURRENT AS $$
  SELECT site_id FROM sync_sites WHERE role_name = current_user
$$;

ALTER TABLE sync_sites ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_site ON sync_sites USING (role_name = current_user);

-- Highest outbox sequence of each site applied here; advanced in the same transaction as the batch.
CREATE TABLE sync_push_cursor (
  site_id integer PRIMARY KEY REFERENCES sync_sites (site_id),
  last_seq bigint NOT NULL DEFAULT 0,
  pushed_at timestamptz
);
ALTER TABLE sync_push_cursor ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_site ON sync_push_cursor USING (site_id = gw_site()) WITH CHECK (site_id = gw_site());

-- Rows HQ changed, per site; the edge reads it by (xid, log_id) below the oldest running
-- transaction, so an entry of a transaction that commits late is never skipped.
CREATE TABLE sync_change_log (
  log_id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  xid xid8 NOT NULL DEFAULT pg_current_xact_id(),
  site_id integer NOT NULL,
  tbl text NOT NULL,
  pk text NOT NULL,
  at timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_change_log_site ON sync_change_log (site_id, xid, log_id);
ALTER TABLE sync_change_log ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_site ON sync_change_log USING (site_id = gw_site());

-- HQ's own ids: site 0 of the id scheme, 1 .. 2^40 - 1 (src/db/ids.ts).
CREATE SEQUENCE users_hq_id MAXVALUE 1099511627775;
CREATE SEQUENCE machines_hq_id MAXVALUE 1099511627775;
CREATE SEQUENCE work_orders_hq_id MAXVALUE 1099511627775;
CREATE SEQUENCE work_order_stages_hq_id MAXVALUE 1099511627775;
CREATE SEQUENCE issues_hq_id MAXVALUE 1099511627775;

CREATE TABLE users (
  site_id integer NOT NULL,
  id bigint PRIMARY KEY DEFAULT nextval('users_hq_id'),
  username text NOT NULL,
  password_hash text NOT NULL,
  role text NOT NULL CHECK (role IN ('admin', 'planner', 'manager', 'worker', 'machine')),
  active boolean NOT NULL DEFAULT true,
  created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  _deleted boolean NOT NULL DEFAULT false,
  _clocks jsonb NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX users_site_username ON users (site_id, lower(username));

CREATE TABLE machines (
  site_id integer NOT NULL,
  id bigint PRIMARY KEY DEFAULT nextval('machines_hq_id'),
  name text NOT NULL,
  machine_type text NOT NULL,
  location text,
  status text NOT NULL,
  source text NOT NULL,
  last_seen_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  _deleted boolean NOT NULL DEFAULT false,
  _clocks jsonb NOT NULL DEFAULT '{}'
);
CREATE UNIQUE INDEX machines_site_name ON machines (site_id, name);

CREATE TABLE work_orders (
  site_id integer NOT NULL,
  id bigint PRIMARY KEY DEFAULT nextval('work_orders_hq_id'),
  product_code text NOT NULL,
  lot_no text NOT NULL,
  qty integer NOT NULL CHECK (qty > 0),
  planned_start timestamptz NOT NULL,
  planned_end timestamptz NOT NULL,
  status text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'in_progress', 'done')),
  created_by bigint,
  created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  _deleted boolean NOT NULL DEFAULT false,
  _clocks jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX work_orders_site ON work_orders (site_id, planned_start);

CREATE TABLE work_order_stages (
  site_id integer NOT NULL,
  id bigint PRIMARY KEY DEFAULT nextval('work_order_stages_hq_id'),
  work_order_id bigint NOT NULL,
  seq integer NOT NULL,
  stage_name text NOT NULL,
  planned_start timestamptz,
  planned_end timestamptz,
  actual_start timestamptz,
  actual_end timestamptz,
  status text NOT NULL DEFAULT 'planned' CHECK (status IN ('planned', 'in_progress', 'paused', 'done')),
  qty_good integer,
  qty_scrap integer,
  paused_ms bigint NOT NULL DEFAULT 0,
  paused_since timestamptz,
  status_changed_at timestamptz,
  created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  updated_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  _deleted boolean NOT NULL DEFAULT false,
  _clocks jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX work_order_stages_wo ON work_order_stages (work_order_id, seq);

CREATE TABLE stage_assignments (
  site_id integer NOT NULL,
  stage_id bigint NOT NULL,
  user_id bigint NOT NULL,
  assigned_by bigint,
  assigned_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  _deleted boolean NOT NULL DEFAULT false,
  _clocks jsonb NOT NULL DEFAULT '{}',
  PRIMARY KEY (stage_id, user_id)
);

CREATE TABLE issues (
  site_id integer NOT NULL,
  id bigint PRIMARY KEY DEFAULT nextval('issues_hq_id'),
  work_order_stage_id bigint NOT NULL,
  type text NOT NULL,
  description text NOT NULL,
  status text NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'ack', 'resolved')),
  created_by bigint NOT NULL,
  created_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  acknowledged_at timestamptz,
  acknowledged_by bigint,
  resolved_at timestamptz,
  resolved_by bigint,
  updated_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  _deleted boolean NOT NULL DEFAULT false,
  _clocks jsonb NOT NULL DEFAULT '{}'
);

-- Facts: insert-only, duplicates ignored. Readings are partitioned by month of recorded_at, so
-- HQ retention drops whole partitions.
CREATE TABLE machine_readings (
  site_id integer NOT NULL,
  id bigint NOT NULL,
  machine_id bigint NOT NULL,
  reading_type text NOT NULL,
  value double precision,
  unit text,
  quality text NOT NULL,
  reason text,
  source_ts timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL,
  PRIMARY KEY (id, recorded_at)
) PARTITION BY RANGE (recorded_at);

CREATE TABLE events (
  site_id integer NOT NULL,
  id bigint PRIMARY KEY,
  kind text NOT NULL,
  entity_type text NOT NULL,
  entity_id bigint NOT NULL,
  work_order_id bigint,
  from_status text,
  to_status text,
  occurred_at timestamptz NOT NULL,
  recorded_at timestamptz NOT NULL,
  actor_user_id bigint,
  request_id text,
  data jsonb
);
CREATE INDEX events_site_recorded ON events (site_id, recorded_at);

-- Monthly reading partitions covering [from, to]; a site role calls it before pushing readings
-- (SECURITY DEFINER: sites cannot create tables themselves). Runs in its own short transaction.
CREATE FUNCTION gw_ensure_reading_partitions(from_ts timestamptz, to_ts timestamptz) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  m timestamptz := date_trunc('month', from_ts AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
  created integer := 0;
  part text;
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('gw_reading_partitions'));
  WHILE m <= to_ts LOOP
    part := 'machine_readings_' || to_char(m AT TIME ZONE 'UTC', 'YYYY_MM');
    IF to_regclass(quote_ident(part)) IS NULL THEN
      EXECUTE format('CREATE TABLE %I PARTITION OF machine_readings FOR VALUES FROM (%L) TO (%L)', part, m, m + interval '1 month');
      created := created + 1;
    END IF;
    m := m + interval '1 month';
  END LOOP;
  RETURN created;
END $$;

-- Clocks for HQ's own writes: the time now, and one tick past an existing clock.
CREATE FUNCTION gw_hlc_now() RETURNS text LANGUAGE sql VOLATILE AS $$
  SELECT lpad(floor(extract(epoch FROM clock_timestamp()) * 1000)::bigint::text, 13, '0') || '-00000-0000'
$$;
CREATE FUNCTION gw_hlc_after(c text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT left(c, 13) || '-' || lpad((substr(c, 15, 5)::integer + 1)::text, 5, '0') || '-0000'
$$;

CREATE FUNCTION gw_status_rank(tbl text, status text) RETURNS integer LANGUAGE sql IMMUTABLE AS $$
  SELECT CASE
    WHEN tbl = 'work_orders' THEN CASE status WHEN 'planned' THEN 0 WHEN 'in_progress' THEN 1 WHEN 'done' THEN 2 END
    WHEN tbl = 'work_order_stages' THEN CASE status WHEN 'planned' THEN 0 WHEN 'in_progress' THEN 1 WHEN 'paused' THEN 1 WHEN 'done' THEN 2 END
    WHEN tbl = 'issues' THEN CASE status WHEN 'open' THEN 0 WHEN 'ack' THEN 1 WHEN 'resolved' THEN 2 END
  END
$$;

-- A write by an HQ tool (plain SQL) stamps the clock of every column it sets or changes. Writes
-- applied by an edge's push (gw.applying set for that transaction) carry their own clocks.
CREATE FUNCTION gw_stamp() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  n jsonb;
  o jsonb;
  k text;
  now_c text;
  c text;
  clocks jsonb := '{}';
BEGIN
  IF coalesce(current_setting('gw.applying', true), '') <> '' THEN
    RETURN NEW;
  END IF;
  now_c := gw_hlc_now();
  n := to_jsonb(NEW) - '_clocks' - 'site_id';
  IF TG_OP = 'INSERT' THEN
    FOR k IN SELECT jsonb_object_keys(n) LOOP
      clocks := clocks || jsonb_build_object(k, now_c);
    END LOOP;
  ELSE
    o := to_jsonb(OLD) - '_clocks' - 'site_id';
    IF n ? 'status' AND gw_status_rank(TG_TABLE_NAME, n ->> 'status') < gw_status_rank(TG_TABLE_NAME, o ->> 'status') THEN
      RAISE EXCEPTION 'status of % % cannot move back from % to %', TG_TABLE_NAME, o ->> 'id', o ->> 'status', n ->> 'status'
        USING ERRCODE = 'check_violation';
    END IF;
    clocks := OLD._clocks;
    FOR k IN SELECT jsonb_object_keys(n) LOOP
      IF n -> k IS DISTINCT FROM o -> k THEN
        c := clocks ->> k;
        clocks := clocks || jsonb_build_object(k, CASE WHEN c IS NOT NULL AND c COLLATE "C" >= now_c COLLATE "C" THEN gw_hlc_after(c) ELSE now_c END);
      END IF;
    END LOOP;
  END IF;
  NEW._clocks := clocks;
  RETURN NEW;
END $$;

-- A DELETE by an HQ tool becomes a tombstone, so the delete reaches the site like any change.
CREATE FUNCTION gw_tombstone() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_TABLE_NAME = 'stage_assignments' THEN
    UPDATE stage_assignments SET _deleted = true WHERE stage_id = OLD.stage_id AND user_id = OLD.user_id;
  ELSE
    EXECUTE format('UPDATE %I SET _deleted = true WHERE id = $1', TG_TABLE_NAME) USING (to_jsonb(OLD) ->> 'id')::bigint;
  END IF;
  RETURN NULL;
END $$;

-- Every HQ-side change of a site's row is logged for that site's pull; a site's own push is not
-- (it already has those values; any column HQ keeps instead was logged when HQ wrote it).
CREATE FUNCTION gw_log_change() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  j jsonb := to_jsonb(NEW);
  key text;
BEGIN
  IF coalesce(current_setting('gw.applying', true), '') = NEW.site_id::text THEN
    RETURN NULL;
  END IF;
  key := CASE WHEN TG_TABLE_NAME = 'stage_assignments' THEN (j ->> 'stage_id') || ':' || (j ->> 'user_id') ELSE j ->> 'id' END;
  INSERT INTO sync_change_log (site_id, tbl, pk) VALUES (NEW.site_id, TG_TABLE_NAME, key);
  IF TG_OP = 'UPDATE' AND OLD.site_id IS DISTINCT FROM NEW.site_id THEN
    INSERT INTO sync_change_log (site_id, tbl, pk) VALUES (OLD.site_id, TG_TABLE_NAME, key);
  END IF;
  RETURN NULL;
END $$;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['users', 'machines', 'work_orders', 'work_order_stages', 'stage_assignments', 'issues'] LOOP
    EXECUTE format('CREATE TRIGGER gw_stamp BEFORE INSERT OR UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION gw_stamp()', t);
    EXECUTE format('CREATE TRIGGER gw_tombstone BEFORE DELETE ON %I FOR EACH ROW WHEN (NOT OLD._deleted) EXECUTE FUNCTION gw_tombstone()', t);
    EXECUTE format('CREATE TRIGGER gw_log_change AFTER INSERT OR UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION gw_log_change()', t);
  END LOOP;
  FOREACH t IN ARRAY ARRAY['users', 'machines', 'work_orders', 'work_order_stages', 'stage_assignments', 'issues', 'machine_readings', 'events'] LOOP
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY own_site ON %I USING (site_id = gw_site()) WITH CHECK (site_id = gw_site())', t);
  END LOOP;
END $$;
