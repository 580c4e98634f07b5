-- HQ keeps only what an edge can hold too (docs/sync.md, HQ schema):
--   1. a parent's tombstone tombstones its children in the same transaction, as the edge's
--      foreign keys require (it cannot delete a work order that still has stages);
--   2. an id lies in its site's range (SITE_ID × 2^40 + n), or in HQ's (site 0) for a row HQ
--      created; a site cannot create rows with HQ's ids;
--   3. a site makes HQ create reading partitions only for months near now; readings outside them
--      land in machine_readings_default.

-- 1. Tombstones reach the children. The edge's foreign keys (sync/tables.ts, `parents`):
-- work_order_stages → work_orders, stage_assignments → work_order_stages and users,
-- issues → work_order_stages. The children's UPDATEs run inside the parent's BEFORE trigger, so
-- their change-log entries precede the parent's. A site's own push carries the children's
-- deletes itself (its foreign keys made it delete them first), so it is left alone.
CREATE FUNCTION gw_cascade_tombstone() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF coalesce(current_setting('gw.applying', true), '') <> '' THEN
    RETURN NEW;
  END IF;
  IF TG_TABLE_NAME = 'work_orders' THEN
    UPDATE work_order_stages SET _deleted = true WHERE work_order_id = NEW.id AND NOT _deleted;
  ELSIF TG_TABLE_NAME = 'work_order_stages' THEN
    UPDATE stage_assignments SET _deleted = true WHERE stage_id = NEW.id AND NOT _deleted;
    UPDATE issues SET _deleted = true WHERE work_order_stage_id = NEW.id AND NOT _deleted;
  ELSIF TG_TABLE_NAME = 'users' THEN
    UPDATE stage_assignments SET _deleted = true WHERE user_id = NEW.id AND NOT _deleted;
  END IF;
  RETURN NEW;
END $$;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['work_orders', 'work_order_stages', 'users'] LOOP
    EXECUTE format('CREATE TRIGGER gw_cascade_tombstone BEFORE UPDATE OF _deleted ON %I FOR EACH ROW WHEN (NEW._deleted AND NOT OLD._deleted) EXECUTE FUNCTION gw_cascade_tombstone()', t);
  END LOOP;
END $$;

-- Deletes made before this migration left live children under a tombstoned parent, and the
-- edge refused the parent's delete. Tombstone those children now and log the parents again,
-- after them, so each site's next pull deletes children and parent alike.
CREATE TEMP TABLE gw_relog ON COMMIT DROP AS
  SELECT site_id, 'work_orders'::text AS tbl, id::text AS pk FROM work_orders w
   WHERE _deleted AND EXISTS (SELECT 1 FROM work_order_stages s WHERE s.work_order_id = w.id AND NOT s._deleted)
  UNION ALL
  SELECT site_id, 'work_order_stages', id::text FROM work_order_stages s
   WHERE _deleted AND (EXISTS (SELECT 1 FROM stage_assignments a WHERE a.stage_id = s.id AND NOT a._deleted)
                    OR EXISTS (SELECT 1 FROM issues i WHERE i.work_order_stage_id = s.id AND NOT i._deleted))
  UNION ALL
  SELECT site_id, 'users', id::text FROM users u
   WHERE _deleted AND EXISTS (SELECT 1 FROM stage_assignments a WHERE a.user_id = u.id AND NOT a._deleted);
UPDATE work_order_stages s SET _deleted = true FROM work_orders w WHERE w.id = s.work_order_id AND w._deleted AND NOT s._deleted;
UPDATE stage_assignments a SET _deleted = true FROM work_order_stages s WHERE s.id = a.stage_id AND s._deleted AND NOT a._deleted;
UPDATE issues i SET _deleted = true FROM work_order_stages s WHERE s.id = i.work_order_stage_id AND s._deleted AND NOT i._deleted;
UPDATE stage_assignments a SET _deleted = true FROM users u WHERE u.id = a.user_id AND u._deleted AND NOT a._deleted;
INSERT INTO sync_change_log (site_id, tbl, pk)
  SELECT site_id, tbl, pk FROM gw_relog ORDER BY CASE tbl WHEN 'work_order_stages' THEN 0 ELSE 1 END;

-- 2. Site ranges. id >> 40 is the site that created the row (src/db/ids.ts): the row's own site,
-- or 0 for a row HQ created (column defaults). Facts come only from sites. NOT VALID: rows
-- already there are not checked (find them with the query in docs/sync.md), new ones are.
ALTER TABLE users ADD CONSTRAINT users_site_range CHECK (id > 0 AND id >> 40 IN (0, site_id)) NOT VALID;
ALTER TABLE machines ADD CONSTRAINT machines_site_range CHECK (id > 0 AND id >> 40 IN (0, site_id)) NOT VALID;
ALTER TABLE work_orders ADD CONSTRAINT work_orders_site_range CHECK (id > 0 AND id >> 40 IN (0, site_id)) NOT VALID;
ALTER TABLE work_order_stages ADD CONSTRAINT work_order_stages_site_range CHECK (id > 0 AND id >> 40 IN (0, site_id)) NOT VALID;
ALTER TABLE issues ADD CONSTRAINT issues_site_range CHECK (id > 0 AND id >> 40 IN (0, site_id)) NOT VALID;
ALTER TABLE stage_assignments ADD CONSTRAINT stage_assignments_site_range
  CHECK (stage_id >> 40 IN (0, site_id) AND user_id >> 40 IN (0, site_id)) NOT VALID;
ALTER TABLE machine_readings ADD CONSTRAINT machine_readings_site_range CHECK (id >> 40 = site_id) NOT VALID;
ALTER TABLE events ADD CONSTRAINT events_site_range CHECK (id >> 40 = site_id) NOT VALID;

-- HQ's range is HQ's: a site may write a row with an HQ id only when HQ holds that row for the
-- site (a change to a work order HQ planned), never create one, or HQ's sequence would later
-- collide with it. For an assignment, an HQ-range stage or user must be one of the site's.
-- Asked only for HQ-range ids (the WHEN clause), so a site's own rows cost nothing.
CREATE FUNCTION gw_refuse_new_hq_ids() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  held boolean;
BEGIN
  -- HQ's own tools have no site; a row for another site is refused by row-level security.
  IF NEW.site_id IS DISTINCT FROM (SELECT gw_site()) THEN
    RETURN NEW;
  END IF;
  IF TG_TABLE_NAME = 'stage_assignments' THEN
    IF NEW.stage_id < 1099511627776 AND NOT EXISTS (SELECT 1 FROM work_order_stages WHERE id = NEW.stage_id AND site_id = NEW.site_id) THEN
      RAISE EXCEPTION 'stage_id % of stage_assignments is in HQ''s range and not a stage HQ holds for site %', NEW.stage_id, NEW.site_id
        USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.user_id < 1099511627776 AND NOT EXISTS (SELECT 1 FROM users WHERE id = NEW.user_id AND site_id = NEW.site_id) THEN
      RAISE EXCEPTION 'user_id % of stage_assignments is in HQ''s range and not a user HQ holds for site %', NEW.user_id, NEW.site_id
        USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
  END IF;
  EXECUTE format('SELECT EXISTS (SELECT 1 FROM %I WHERE id = $1 AND site_id = $2)', TG_TABLE_NAME) INTO held USING NEW.id, NEW.site_id;
  IF NOT held THEN
    RAISE EXCEPTION 'id % of % is in HQ''s range: only HQ creates such rows (a site''s ids are SITE_ID × 2^40 + n)', NEW.id, TG_TABLE_NAME
      USING ERRCODE = 'check_violation';
  END IF;
  RETURN NEW;
END $$;

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['users', 'machines', 'work_orders', 'work_order_stages', 'issues'] LOOP
    EXECUTE format('CREATE TRIGGER gw_refuse_new_hq_ids BEFORE INSERT OR UPDATE OF id ON %I FOR EACH ROW WHEN (NEW.id < 1099511627776) EXECUTE FUNCTION gw_refuse_new_hq_ids()', t);
  END LOOP;
END $$;
CREATE TRIGGER gw_refuse_new_hq_ids BEFORE INSERT OR UPDATE OF stage_id, user_id ON stage_assignments FOR EACH ROW
  WHEN (NEW.stage_id < 1099511627776 OR NEW.user_id < 1099511627776) EXECUTE FUNCTION gw_refuse_new_hq_ids();

-- 3. Reading partitions. The window a site may have partitions created in; the owner changes it
-- with UPDATE sync_settings SET … (one row).
CREATE TABLE sync_settings (
  id boolean PRIMARY KEY DEFAULT true CHECK (id),
  readings_back interval NOT NULL DEFAULT interval '400 days',
  readings_ahead interval NOT NULL DEFAULT interval '31 days'
);
INSERT INTO sync_settings DEFAULT VALUES;

-- Readings of a month without a partition (a box whose clock said 1970) are kept here, not
-- refused: HQ holds them, and an operator can look at them or delete them.
CREATE TABLE machine_readings_default PARTITION OF machine_readings DEFAULT;

-- Owner only: monthly partitions covering [from, to], whatever the months. Rows of such a month
-- waiting in the default partition move into the new partition (PostgreSQL refuses to create a
-- partition whose range the default partition holds rows of). Months are computed in UTC, so
-- the boundaries do not depend on the session's time zone.
CREATE FUNCTION gw_create_reading_partitions(from_ts timestamptz, to_ts timestamptz) RETURNS integer
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
DECLARE
  m timestamp := date_trunc('month', from_ts AT TIME ZONE 'UTC');
  lo timestamptz;
  hi timestamptz;
  created integer := 0;
  part text;
  held machine_readings[];
BEGIN
  PERFORM pg_advisory_xact_lock(hashtext('gw_reading_partitions'));
  WHILE m AT TIME ZONE 'UTC' <= to_ts LOOP
    part := 'machine_readings_' || to_char(m, 'YYYY_MM');
    lo := m AT TIME ZONE 'UTC';
    hi := (m + interval '1 month') AT TIME ZONE 'UTC';
    IF to_regclass(quote_ident(part)) IS NULL THEN
      WITH moved AS (DELETE FROM ONLY machine_readings_default WHERE recorded_at >= lo AND recorded_at < hi RETURNING *)
      SELECT array_agg(ROW(moved.*)::machine_readings) INTO held FROM moved;
      EXECUTE format('CREATE TABLE %I PARTITION OF machine_readings FOR VALUES FROM (%L) TO (%L)', part, lo, hi);
      INSERT INTO machine_readings SELECT * FROM unnest(held);
      created := created + 1;
    END IF;
    m := m + interval '1 month';
  END LOOP;
  RETURN created;
END $$;
REVOKE ALL ON FUNCTION gw_create_reading_partitions(timestamptz, timestamptz) FROM PUBLIC;

-- What a site calls before pushing readings (sync/push.ts): the same, clamped to the window
-- around HQ's own clock, whatever range the site asks for.
CREATE OR REPLACE FUNCTION gw_ensure_reading_partitions(from_ts timestamptz, to_ts timestamptz) RETURNS integer
LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  lo timestamptz;
  hi timestamptz;
BEGIN
  SELECT greatest(from_ts, now() - readings_back), least(to_ts, now() + readings_ahead) INTO lo, hi FROM sync_settings;
  IF lo IS NULL OR hi IS NULL OR lo > hi THEN
    RETURN 0;
  END IF;
  RETURN gw_create_reading_partitions(lo, hi);
END $$;
REVOKE ALL ON FUNCTION gw_ensure_reading_partitions(timestamptz, timestamptz) FROM PUBLIC;
DO $$
DECLARE
  r text;
BEGIN
  FOR r IN SELECT role_name FROM sync_sites WHERE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) LOOP
    EXECUTE format('GRANT EXECUTE ON FUNCTION gw_ensure_reading_partitions(timestamptz, timestamptz) TO %I', r);
  END LOOP;
END $$;
