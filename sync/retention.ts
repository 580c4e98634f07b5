/**
 * Retention after sync: rows past their age are deleted on the edge only when no outbox row for
 * them is waiting, i.e. HQ has committed them (or sync is off and nothing is captured). The
 * statements take (cutoff, batch size) so housekeeping deletes in small batches.
 */
export const PRUNE_SYNCED_READINGS =
  'DELETE FROM machine_readings WHERE id IN (SELECT r.id FROM machine_readings r WHERE r.recorded_at < ? ' +
  "AND NOT EXISTS (SELECT 1 FROM sync_outbox o WHERE o.tbl = 'machine_readings' AND o.pk = CAST(r.id AS TEXT)) LIMIT ?)";

export const PRUNE_SYNCED_EVENTS =
  'DELETE FROM events WHERE id IN (SELECT e.id FROM events e WHERE e.recorded_at < ? ' +
  "AND NOT EXISTS (SELECT 1 FROM sync_outbox o WHERE o.tbl = 'events' AND o.pk = CAST(e.id AS TEXT)) LIMIT ?)";
