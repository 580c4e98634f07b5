-- Pruning of sync_change_log (see docs/sync.md, Operations). Each site reports how far it has
-- pulled (the cursor it saved in its own SQLite); gw_prune_change_log deletes every entry its
-- site has pulled, and entries older than a horizon whether pulled or not. For the latter it
-- records, per site, the last entry it deleted unpulled (pruned_xid, pruned_log_id): a site that
-- finds that mark past its cursor re-reads all its rows once (the merge is a join, so nothing is
-- lost or applied twice) and then goes on from the log as before.
CREATE TABLE sync_pull_cursor (
  site_id integer PRIMARY KEY,
  xid xid8 NOT NULL DEFAULT '0',
  log_id bigint NOT NULL DEFAULT 0,
  reported_at timestamptz,
  pruned_xid xid8 NOT NULL DEFAULT '0',
  pruned_log_id bigint NOT NULL DEFAULT 0
);
ALTER TABLE sync_pull_cursor ENABLE ROW LEVEL SECURITY;
CREATE POLICY own_site ON sync_pull_cursor USING (site_id = (SELECT gw_site())) WITH CHECK (site_id = (SELECT gw_site()));

INSERT INTO sync_pull_cursor (site_id) SELECT site_id FROM sync_sites;
DO $$
DECLARE
  r text;
BEGIN
  FOR r IN SELECT role_name FROM sync_sites WHERE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) LOOP
    EXECUTE format('GRANT SELECT, UPDATE (xid, log_id, reported_at) ON sync_pull_cursor TO %I', r);
  END LOOP;
END $$;

-- Run by HQ as the schema owner, from cron or pg_cron, e.g. hourly:
--   SELECT * FROM gw_prune_change_log(interval '30 days');
-- or `npx gateway hq prune-changes`. Returns how many entries went because their site had pulled
-- them, and how many because they were older than the horizon.
CREATE FUNCTION gw_prune_change_log(horizon interval DEFAULT interval '30 days')
RETURNS TABLE (pulled bigint, expired bigint)
LANGUAGE plpgsql SET search_path FROM CURRENT AS $$
BEGIN
  IF horizon IS NULL OR horizon <= interval '0' THEN
    RAISE EXCEPTION 'horizon must be a positive interval, not %', horizon USING ERRCODE = 'invalid_parameter_value';
  END IF;
  DELETE FROM sync_change_log l USING sync_pull_cursor c
   WHERE l.site_id = c.site_id AND (l.xid, l.log_id) <= (c.xid, c.log_id);
  GET DIAGNOSTICS pulled = ROW_COUNT;
  WITH gone AS (
    DELETE FROM sync_change_log WHERE at < now() - horizon RETURNING site_id, xid, log_id
  ), last_gone AS (
    SELECT DISTINCT ON (site_id) site_id, xid, log_id FROM gone ORDER BY site_id, xid DESC, log_id DESC
  ), marked AS (
    INSERT INTO sync_pull_cursor AS c (site_id, pruned_xid, pruned_log_id)
    SELECT site_id, xid, log_id FROM last_gone
    ON CONFLICT (site_id) DO UPDATE SET pruned_xid = EXCLUDED.pruned_xid, pruned_log_id = EXCLUDED.pruned_log_id
      WHERE (EXCLUDED.pruned_xid, EXCLUDED.pruned_log_id) > (c.pruned_xid, c.pruned_log_id)
    RETURNING 1
  )
  SELECT count(*) INTO expired FROM gone;
  RETURN NEXT;
END $$;
REVOKE EXECUTE ON FUNCTION gw_prune_change_log(interval) FROM PUBLIC;
