-- OEE and downtime from the edges (docs/oee.md, HQ): gateway runs, downtime records with their
-- reasons, and each machine's OEE inputs per ended shift, synced like every mutable table (per-column
-- clocks, tombstones, change log, row-level security by site). The rows are the edges' own: HQ may
-- correct a downtime's reason (it travels back to the site), it creates none (HQ-range ids refused).

CREATE TABLE gateway_runs (
  site_id integer NOT NULL,
  id bigint PRIMARY KEY CHECK (id >> 40 = site_id),
  started_at timestamptz NOT NULL,
  alive_at timestamptz NOT NULL,
  stopped_at timestamptz,
  _deleted boolean NOT NULL DEFAULT false,
  _clocks jsonb NOT NULL DEFAULT '{}'
);

CREATE TABLE downtimes (
  site_id integer NOT NULL,
  id bigint PRIMARY KEY CHECK (id >> 40 = site_id),
  machine_id bigint NOT NULL,
  started_at timestamptz NOT NULL,
  ended_at timestamptz,
  state text NOT NULL,
  reason_code text,
  note text,
  reason_by bigint,
  reason_at timestamptz,
  issue_id bigint,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  _deleted boolean NOT NULL DEFAULT false,
  _clocks jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX downtimes_site_machine ON downtimes (site_id, machine_id, started_at);

CREATE TABLE shift_oee (
  site_id integer NOT NULL,
  id bigint PRIMARY KEY CHECK (id >> 40 = site_id),
  machine_id bigint NOT NULL,
  shift text NOT NULL,
  shift_start timestamptz NOT NULL,
  shift_end timestamptz NOT NULL,
  planned_ms bigint NOT NULL,
  run_ms bigint NOT NULL,
  unknown_ms bigint NOT NULL,
  downtime_ms bigint NOT NULL,
  short_stop_ms bigint NOT NULL,
  good bigint NOT NULL,
  scrap bigint NOT NULL,
  ideal_ms bigint,
  created_at timestamptz NOT NULL,
  updated_at timestamptz NOT NULL,
  _deleted boolean NOT NULL DEFAULT false,
  _clocks jsonb NOT NULL DEFAULT '{}'
);
CREATE INDEX shift_oee_site_machine ON shift_oee (site_id, machine_id, shift_start);

DO $$
DECLARE
  t text;
  r text;
BEGIN
  FOREACH t IN ARRAY ARRAY['gateway_runs', 'downtimes', 'shift_oee'] LOOP
    EXECUTE format('CREATE TRIGGER gw_stamp BEFORE INSERT OR UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION gw_stamp()', t);
    EXECUTE format('CREATE TRIGGER gw_tombstone BEFORE DELETE ON %I FOR EACH ROW WHEN (NOT OLD._deleted) EXECUTE FUNCTION gw_tombstone()', t);
    EXECUTE format('CREATE TRIGGER gw_log_change AFTER INSERT OR UPDATE ON %I FOR EACH ROW EXECUTE FUNCTION gw_log_change()', t);
    EXECUTE format('ALTER TABLE %I ENABLE ROW LEVEL SECURITY', t);
    EXECUTE format('CREATE POLICY own_site ON %I USING (site_id = (SELECT gw_site())) WITH CHECK (site_id = (SELECT gw_site()))', t);
    -- Sites registered before this migration get the same rights on the new tables as on the others.
    FOR r IN SELECT role_name FROM sync_sites WHERE EXISTS (SELECT 1 FROM pg_roles WHERE rolname = role_name) LOOP
      EXECUTE format('GRANT SELECT, INSERT, UPDATE ON %I TO %I', t, r);
    END LOOP;
  END LOOP;
END $$;

-- OEE per site, machine and shift across sites, from the figures each edge wrote when the shift
-- ended (planned time from that site's own calendar). Ratios are NULL where their denominator is 0
-- or an ideal cycle time was missing; sums over several shifts must add the *_ms and counts first
-- and divide after (see docs/oee.md, HQ), never average these ratios.
CREATE VIEW oee_by_shift AS
SELECT
  o.site_id,
  o.machine_id,
  m.name AS machine_name,
  o.shift,
  o.shift_start,
  o.shift_end,
  o.planned_ms,
  o.run_ms,
  o.unknown_ms,
  o.downtime_ms,
  o.short_stop_ms,
  o.good,
  o.scrap,
  o.ideal_ms,
  o.run_ms::numeric / nullif(o.planned_ms, 0) AS availability,
  o.ideal_ms::numeric / nullif(o.run_ms, 0) AS performance,
  o.good::numeric / nullif(o.good + o.scrap, 0) AS quality,
  (o.run_ms::numeric / nullif(o.planned_ms, 0)) * (o.ideal_ms::numeric / nullif(o.run_ms, 0)) * (o.good::numeric / nullif(o.good + o.scrap, 0)) AS oee
FROM shift_oee o
LEFT JOIN machines m ON m.id = o.machine_id AND NOT m._deleted
WHERE NOT o._deleted;
