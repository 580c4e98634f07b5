-- A child pushed or written under a parent HQ already deleted, or deletes at the same moment,
-- follows its parent (docs/sync.md, ADR 0014).
-- HQ tombstones a parent's children with it (0004), but a site that was cut off can still create
-- a child under it (an issue on a stage, an assignment) and push it afterwards. HQ would keep that
-- child live under a tombstone, and the edge, which deletes the child with the parent when it
-- pulls the parent's tombstone, would disagree with HQ for good. So the child is tombstoned on
-- arrival, with a clock one tick past every clock it carries (it beats the site's insert), and
-- logged for the site's pull even inside the site's own push (gw_log_change skips those).
CREATE FUNCTION gw_orphan_follows_parent() RETURNS trigger LANGUAGE plpgsql SECURITY DEFINER SET search_path FROM CURRENT AS $$
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
  FOREACH t IN ARRAY ARRAY['work_order_stages', 'stage_assignments', 'issues'] LOOP
    EXECUTE format('CREATE TRIGGER gw_orphan_follows_parent BEFORE INSERT OR UPDATE ON %I FOR EACH ROW WHEN (NOT NEW._deleted) EXECUTE FUNCTION gw_orphan_follows_parent()', t);
  END LOOP;
END $$;
