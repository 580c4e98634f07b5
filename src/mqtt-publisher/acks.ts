import type { Logger } from '../logger.ts';

/**
 * Queue rows the broker acknowledged (PUBACK), deleted in one statement once `batch` wait or after
 * `flushMs` (ADR 0009). Shared by the plain publisher and the Sparkplug edge node. A failing
 * delete keeps its rows for the next flush, logged once until a delete works again; rows left at
 * stop are sent again after the restart: at least once, never lost.
 */
export function createAckBatch(o: {
  remove(seqs: number[]): void;
  /** After a successful delete (the publisher's cached depth is stale then). */
  onRemoved?(): void;
  log: Logger;
  what: string;
  batch: number;
  flushMs: number;
  stopping(): boolean;
}) {
  let acked = new Set<number>();
  let timer: NodeJS.Timeout | undefined;
  let failing = false;
  const flush = () => {
    if (timer) clearTimeout(timer);
    timer = undefined;
    if (acked.size === 0) return;
    const rows = [...acked];
    acked = new Set();
    try {
      o.remove(rows);
      o.onRemoved?.();
      failing = false;
    } catch (err) {
      for (const seq of rows) acked.add(seq);
      if (!o.stopping()) timer ??= setTimeout(flush, o.flushMs);
      if (!failing) o.log.warn({ err, rows: rows.length }, `${o.what} queue delete failed; retrying`);
      failing = true;
    }
  };
  return {
    add(seqs: Iterable<number>) {
      for (const seq of seqs) acked.add(seq);
      // While deletes fail, the timer retries them; not one failing DELETE of the whole list per PUBACK.
      if (acked.size >= o.batch && !failing) flush();
      else timer ??= setTimeout(flush, o.flushMs);
    },
    /** Acknowledged and not yet deleted: not to be sent again when the cursor moves back over it. */
    has: (seq: number) => acked.has(seq),
    flush,
  };
}
