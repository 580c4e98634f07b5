-- The machine a stage runs on (the edge's stage_machines, SQLite migrations 0007, 0011, 0012), so HQ
-- can compute OEE per work order across sites (docs/oee.md, HQ). One row per stage, keyed by
-- stage_id; per-column last writer wins like every mutable row; clearing the link is a tombstone.
-- A site names machines for its stages and HQ may too (the planner's tools): the row travels both
-- ways. Its parents on the edge (sync/tables.ts) are the stage and the machine, so HQ tombstones
-- the link with either, and a link pushed under a parent HQ already deleted follows that parent.

CREATE TABLE stage_machines (
  site_id integer NOT NULL,
  stage_id bigint PRIMARY KEY,
  machine_id bigint NOT NULL,
  set_at timestamptz NOT NULL DEFAULT date_trunc('milliseconds', now()),
  set_by bigint,
  _deleted boolean NOT NULL DEFAULT false,
  _clocks jsonb NOT NULL DEFAULT '{}',
  -- Site ranges as for an assignment (0004): the stage and the machine are the site's, or HQ's.
  CONSTRAINT stage_machines_site_range CHECK (stage_id >> 40 IN (0, site_id) AND machine_id >> 40 IN (0, site_id))
);
CREATE INDEX stage_machines_machine ON stage_machines (machine_id);

-- 1. A DELETE by an HQ tool becomes a tombstone; the row's key is its stage_id (0001, plus that branch).
CREATE OR REPLACE FUNCTION gw_tombstone() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF TG_TABLE_NAME = 'stage_assignments' THEN
    UPDATE stage_assignments SET _deleted = true WHERE stage_id = OLD.stage_id AND user_id = OLD.user_id;
  ELSIF TG_TABLE_NAME = 'stage_machines' THEN
    UPDATE stage_machines SET _deleted = true WHERE stage_id = OLD.stage_id;
  ELSE
    EXECUTE format('UPDATE %I SET _deleted = true WHERE id = $1', TG_TABLE_NAME) USING (to_jsonb(OLD) ->> 'id')::bigint;
  END IF;
  RETURN NULL;
END $$;

-- 2. The change log names the row by the key the edge uses (0001, plus the stage_machines key).
CREATE OR REPLACE FUNCTION gw_log_change() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  j jsonb := to_jsonb(NEW);
  key text;
BEGIN
  IF coalesce(current_setting('gw.applying', true), '') = NEW.site_id::text THEN
    RETURN NULL;
  END IF;
  key := CASE TG_TABLE_NAME
    WHEN 'stage_assignments' THEN (j ->> 'stage_id') || ':' || (j ->> 'user_id')
    WHEN 'stage_machines' THEN j ->> 'stage_id'
    ELSE j ->> 'id'
  END;
  INSERT INTO sync_change_log (site_id, tbl, pk) VALUES (NEW.site_id, TG_TABLE_NAME, key);
  IF TG_OP = 'UPDATE' AND OLD.site_id IS DISTINCT FROM NEW.site_id THEN
    INSERT INTO sync_change_log (site_id, tbl, pk) VALUES (OLD.site_id, TG_TABLE_NAME, key);
  END IF;
  RETURN NULL;
END $$;

-- 3. A site may name an HQ-range stage or machine only when HQ holds it for the site (0004, plus that branch).
CREATE OR REPLACE FUNCTION gw_refuse_new_hq_ids() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
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
  IF TG_TABLE_NAME = 'stage_machines' THEN
    IF NEW.stage_id < 1099511627776 AND NOT EXISTS (SELECT 1 FROM work_order_stages WHERE id = NEW.stage_id AND site_id = NEW.site_id) THEN
      RAISE EXCEPTION 'stage_id % of stage_machines is in HQ''s range and not a stage HQ holds for site %', NEW.stage_id, NEW.site_id
        USING ERRCODE = 'check_violation';
    END IF;
    IF NEW.machine_id < 1099511627776 AND NOT EXISTS (SELECT 1 FROM machines WHERE id = NEW.machine_id AND site_id = NEW.site_id) THEN
      RAISE EXCEPTION 'machine_id % of stage_machines is in HQ''s range and not a machine HQ holds for site %', NEW.machine_id, NEW.site_id
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

-- 4. A stage's or a machine's tombstone takes the link with it (0009, plus stage_machines).
CREATE OR REPLACE FUNCTION gw_cascade_tombstone() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF coalesce(current_setting('gw.applying', true), '') <> '' THEN
    RETURN NEW;
  END IF;
  IF TG_TABLE_NAME = 'work_orders' THEN
    UPDATE work_order_stages SET _deleted = true WHERE work_order_id = NEW.id AND NOT _deleted;
  ELSIF TG_TABLE_NAME = 'work_order_stages' THEN
    UPDATE stage_assignments SET _deleted = true WHERE stage_id = NEW.id AND NOT _deleted;
    UPDATE issues SET _deleted = true WHERE work_order_stage_id = NEW.id AND NOT _deleted;
    UPDATE stage_machines SET _deleted = true WHERE stage_id = NEW.id AND NOT _deleted;
  ELSIF TG_TABLE_NAME = 'users' THEN
    UPDATE stage_assignments SET _deleted = true WHERE user_id = NEW.id AND NOT _deleted;
  ELSIF TG_TABLE_NAME = 'machines' THEN
    UPDATE downtimes SET _deleted = true WHERE machine_id = NEW.id AND NOT _deleted;
    UPDATE shift_oee SET _deleted = true WHERE machine_id = NEW.id AND NOT _deleted;
    UPDATE stage_machines SET _deleted = true WHERE machine_id = NEW.id AND NOT _deleted;
  END IF;
  RETURN NEW;
END $$;

-- 5. A link pushed (or written) under a stage or machine HQ already deleted follows it (0009, plus that branch).
CREATE OR REPLACE FUNCTION gw_orphan_follows_parent() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  dead boolean;
  dead_user boolean;
  dead_machine boolean;
  latest text;
  key text;
BEGIN
  -- FOR SHARE: a parent's delete running at the same moment either commits first (and this sees
  -- its tombstone) or waits for this child to commit (and its cascade tombstones the child).
  IF TG_TABLE_NAME = 'work_order_stages' THEN
    SELECT _deleted INTO dead FROM work_orders WHERE id = NEW.work_order_id FOR SHARE;
    key := NEW.id::text;
  ELSIF TG_TABLE_NAME = 'issues' THEN
    SELECT _deleted INTO dead FROM work_order_stages WHERE id = NEW.work_order_stage_id FOR SHARE;
    key := NEW.id::text;
  ELSIF TG_TABLE_NAME IN ('downtimes', 'shift_oee') THEN
    SELECT _deleted INTO dead FROM machines WHERE id = NEW.machine_id FOR SHARE;
    key := NEW.id::text;
  ELSIF TG_TABLE_NAME = 'stage_machines' THEN
    SELECT _deleted INTO dead FROM work_order_stages WHERE id = NEW.stage_id FOR SHARE;
    SELECT _deleted INTO dead_machine FROM machines WHERE id = NEW.machine_id FOR SHARE;
    dead := coalesce(dead, false) OR coalesce(dead_machine, false);
    key := NEW.stage_id::text;
  ELSE
    SELECT _deleted INTO dead FROM work_order_stages WHERE id = NEW.stage_id FOR SHARE;
    SELECT _deleted INTO dead_user FROM users WHERE id = NEW.user_id FOR SHARE;
    dead := coalesce(dead, false) OR coalesce(dead_user, false);
    key := NEW.stage_id::text || ':' || NEW.user_id::text;
  END IF;
  IF NOT coalesce(dead, false) THEN
    RETURN NEW;
  END IF;
  SELECT max(e.value COLLATE "C") INTO latest FROM jsonb_each_text(NEW._clocks) e;
  NEW._deleted := true;
  NEW._clocks := NEW._clocks || jsonb_build_object('_deleted', gw_hlc_after(coalesce(latest, gw_hlc_now())));
  IF coalesce(current_setting('gw.applying', true), '') = NEW.site_id::text THEN
    INSERT INTO sync_change_log (site_id, tbl, pk) VALUES (NEW.site_id, TG_TABLE_NAME, key);
  END IF;
  RETURN NEW;
END $$;

REVOKE ALL ON FUNCTION gw_orphan_follows_parent() FROM PUBLIC;

-- 6. The triggers every synced mutable table has, row-level security, and the rights of the sites
-- registered before this migration (later ones get them from `hq add-site`).
CREATE TRIGGER gw_stamp BEFORE INSERT OR UPDATE ON stage_machines FOR EACH ROW EXECUTE FUNCTION gw_stamp();
CREATE TRIGGER gw_tombstone BEFORE DELETE ON stage_machines FOR EACH ROW WHEN (NOT OLD._deleted) EXECUTE FUNCTION gw_tombstone();
CREATE TRIGGER gw_log_change AFTER INSERT OR UPDATE ON stage_machines FOR EACH ROW EXECUTE FUNCTION gw_log_change();
CREATE TRIGGER gw_orphan_follows_parent BEFORE INSERT OR UPDATE ON stage_machines FOR EACH ROW WHEN (NOT NEW._deleted)
  EXECUTE FUNCTION gw_orphan_follows_parent();
CREATE TRIGGER gw_refuse_new_hq_ids BEFORE INSERT OR UPDATE OF stage_id, machine_id ON stage_machines FOR EACH ROW
  WHEN (NEW.stage_id < 1099511627776 OR NEW.machine_id < 1099511627776) EXECUTE FUNCTION gw_refuse_new_hq_ids();
ALTER TABLE stage_machines ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_site ON stage_machines USING (site_id = (SELECT gw_site())) WITH CHECK (site_id = (SELECT gw_site()));

DO $$
DECLARE
  r text;
BEGIN
  FOR r IN SELECT role_name FROM sync_sites WHERE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) LOOP
    EXECUTE format('GRANT SELECT, INSERT, UPDATE ON stage_machines TO %I', r);
  END LOOP;
END $$;
