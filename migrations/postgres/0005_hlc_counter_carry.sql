-- The hybrid clock's counter carries into the wall (see docs/sync.md, Clock). The text form is
-- WWWWWWWWWWWWW-CCCCC-SSSS; gw_hlc_after added 1 to the counter without bound, so past 99,999 it
-- wrote six digits and the clock sorted below the one it was meant to follow. Now a tick past
-- 99,999 advances the wall by 1 ms and restarts the counter at 0, as the edge does. It also reads
-- a clock written before this rule (a counter of 6+ digits) by its value.
CREATE OR REPLACE FUNCTION gw_hlc_carry(wall bigint, counter bigint, site text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT lpad((wall + counter / 100000)::text, 13, '0') || '-' || lpad((counter % 100000)::text, 5, '0') || '-' || site
$$;

CREATE OR REPLACE FUNCTION gw_hlc_after(c text) RETURNS text LANGUAGE sql IMMUTABLE AS $$
  SELECT gw_hlc_carry(split_part(c, '-', 1)::bigint, split_part(c, '-', 2)::bigint + 1, '0000')
$$;

-- Clocks already stored with a 6+ digit counter (edge clocks pushed before the edge's own carry
-- migration, or HQ's own ticks) are carried the same way, which keeps their order among
-- themselves and puts them where they belong against 5-digit clocks. The stamping and change-log
-- triggers stay out of this one update: the edge's own migration carries its copies the same way
-- and sends those columns again, which merges to no change where HQ holds the same value and
-- replaces a value HQ kept over them by the wrong order.
DO $$
DECLARE
  t text;
BEGIN
  FOREACH t IN ARRAY ARRAY['users', 'machines', 'work_orders', 'work_order_stages', 'stage_assignments', 'issues'] LOOP
    EXECUTE format('ALTER TABLE %I DISABLE TRIGGER gw_stamp, DISABLE TRIGGER gw_log_change', t);
    EXECUTE format($f$
      UPDATE %I SET _clocks = (
        SELECT jsonb_object_agg(e.key, CASE WHEN length(e.value) > 24
          THEN gw_hlc_carry(split_part(e.value, '-', 1)::bigint, split_part(e.value, '-', 2)::bigint, split_part(e.value, '-', 3))
          ELSE e.value END)
        FROM jsonb_each_text(_clocks) e)
      WHERE EXISTS (SELECT 1 FROM jsonb_each_text(_clocks) e WHERE length(e.value) > 24)$f$, t);
    EXECUTE format('ALTER TABLE %I ENABLE TRIGGER gw_stamp, ENABLE TRIGGER gw_log_change', t);
  END LOOP;
END $$;
