/** A primary host application's STATE: online or not, and when it said so (epoch ms). */
export interface HostState {
  online: boolean;
  timestamp: number;
}

/**
 * Reads `spBv1.0/STATE/<host_id>`: Sparkplug 3.0's JSON `{"online": bool, "timestamp": ms}`, or
 * the plain `ONLINE`/`OFFLINE` of Sparkplug 2.2 hosts (timestamp 0). Anything else: undefined.
 */
export function parseHostState(payload: Buffer): HostState | undefined {
  if (payload.length > 1024) return undefined;
  const text = payload.toString('utf8').trim();
  if (text === 'ONLINE' || text === 'OFFLINE') return { online: text === 'ONLINE', timestamp: 0 };
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (doc === null || typeof doc !== 'object') return undefined;
  const { online, timestamp } = doc as { online?: unknown; timestamp?: unknown };
  if (typeof online !== 'boolean') return undefined;
  return { online, timestamp: typeof timestamp === 'number' && Number.isFinite(timestamp) ? timestamp : 0 };
}
