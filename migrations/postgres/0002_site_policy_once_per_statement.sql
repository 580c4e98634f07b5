-- Row-level security asked gw_site() once per row: a function with its own search_path is never
-- inlined, so a 20,000-row push paid 20,000 lookups of the caller's site (about half the time of
-- a push). As a scalar subquery it is an InitPlan, evaluated once per statement; the policies
-- mean exactly what they meant before.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['sync_push_cursor', 'users', 'machines', 'work_orders', 'work_order_stages', 'stage_assignments', 'issues', 'machine_readings', 'events'] LOOP
    EXECUTE format('ALTER POLICY own_site ON %I USING (site_id = (SELECT gw_site())) WITH CHECK (site_id = (SELECT gw_site()))', t);
  END LOOP;
  ALTER POLICY own_site ON sync_change_log USING (site_id = (SELECT gw_site()));
END $$;
