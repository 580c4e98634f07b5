-- A machine's tombstone takes its downtime records and shift OEE rows with it (docs/sync.md, HQ
-- schema; docs/oee.md, HQ). downtimes and shift_oee (0008) have machine_id → machines as their
-- parent on the edge (sync/tables.ts, `parents`), and the edge deletes them with a machine it pulls
-- the tombstone of; HQ kept them live under the tombstoned machine, so HQ and the site disagreed
-- for good and oee_by_shift went on counting a deleted machine's shifts.

-- 1. The cascade of 0004, with a branch for machines.
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
  ELSIF TG_TABLE_NAME = 'users' THEN
    UPDATE stage_assignments SET _deleted = true WHERE user_id = NEW.id AND NOT _deleted;
  ELSIF TG_TABLE_NAME = 'machines' THEN
    UPDATE downtimes SET _deleted = true WHERE machine_id = NEW.id AND NOT _deleted;
    UPDATE shift_oee SET _deleted = true WHERE machine_id = NEW.id AND NOT _deleted;
  END IF;
  RETURN NEW;
END $$;

CREATE TRIGGER gw_cascade_tombstone BEFORE UPDATE OF _deleted ON machines FOR EACH ROW
  WHEN (NEW._deleted AND NOT OLD._deleted) EXECUTE FUNCTION gw_cascade_tombstone();

-- 2. The orphan check of 0006, for downtime records and shift OEE rows pushed by a site that was
-- cut off while HQ deleted their machine (or that arrive while the delete runs).
CREATE OR REPLACE FUNCTION gw_orphan_follows_parent() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
DECLARE
  dead boolean;
  dead_user boolean;
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

DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['downtimes', 'shift_oee'] LOOP
    EXECUTE format('CREATE TRIGGER gw_orphan_follows_parent BEFORE INSERT OR UPDATE ON %I FOR EACH ROW WHEN (NOT NEW._deleted) EXECUTE FUNCTION gw_orphan_follows_parent()', t);
  END LOOP;
END $$;

-- 3. Machines deleted before this migration: tombstone their live downtime records and shift OEE
-- rows now (each logged by gw_log_change) and log the machines again, after them, as 0004 did.
CREATE TEMP TABLE gw_relog_machines ON COMMIT DROP AS
  SELECT site_id, 'machines'::text AS tbl, id::text AS pk FROM machines m
   WHERE _deleted AND (EXISTS (SELECT 1 FROM downtimes d WHERE d.machine_id = m.id AND NOT d._deleted)
                    OR EXISTS (SELECT 1 FROM shift_oee o WHERE o.machine_id = m.id AND NOT o._deleted));
UPDATE downtimes d SET _deleted = true FROM machines m WHERE m.id = d.machine_id AND m._deleted AND NOT d._deleted;
UPDATE shift_oee o SET _deleted = true FROM machines m WHERE m.id = o.machine_id AND m._deleted AND NOT o._deleted;
INSERT INTO sync_change_log (site_id, tbl, pk) SELECT site_id, tbl, pk FROM gw_relog_machines;
