import type { AppContext } from '../../context.ts';
import { auditLog } from '../../db/schema.ts';

export type AuditAction =
  | 'login.success'
  | 'login.failure'
  | 'user.create'
  | 'user.role_change'
  | 'user.activate'
  | 'user.deactivate'
  | 'user.password_change'
  | 'user.password_reset'
  | 'logout'
  | 'station.create'
  | 'station.revoke'
  | 'user.badge_set';

export interface AuditEntry {
  action: AuditAction;
  actorUserId?: number | null;
  targetUserId?: number | null;
  targetUsername?: string | null;
  clientIp?: string | null;
  requestId?: string | null;
  details?: Record<string, unknown>;
}

/** Appends an audit row; call inside the transaction of the change it records. */
export function recordAudit(ctx: Pick<AppContext, 'store' | 'clock'>, entry: AuditEntry): void {
  ctx.store.db
    .insert(auditLog)
    .values({
      id: ctx.store.ids.next('audit_log'),
      at: ctx.clock.now(),
      action: entry.action,
      actorUserId: entry.actorUserId ?? null,
      targetUserId: entry.targetUserId ?? null,
      targetUsername: entry.targetUsername ?? null,
      clientIp: entry.clientIp ?? null,
      requestId: entry.requestId ?? null,
      details: entry.details ?? null,
    })
    .run();
}
