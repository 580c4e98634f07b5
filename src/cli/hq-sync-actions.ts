import type { Config } from '../config.ts';
import { buildContext } from '../bootstrap.ts';
import { silentLogger } from '../logger.ts';
import { createPasswordHasher } from '../modules/auth/password.ts';
import { migrateHq } from '../../sync/hq/migrate.ts';
import { createHqPool, redactUrl } from '../../sync/hq/pool.ts';
import { pruneChangeLog } from '../../sync/hq/prune.ts';
import { addSite, siteUrl } from '../../sync/hq/sites.ts';
import { createGatewaySync } from '../../sync/index.ts';
import { replayRejected, type ReplaySelection } from '../../sync/replay.ts';
import { restoreSite } from '../../sync/restore.ts';
import { readSyncStatus } from '../../sync/status.ts';

/** What a command prints and how it exits; cli.ts does the process side. */
export interface CommandIo {
  out(line: string): void;
  fail(message: string): never;
  readStdin(): Promise<string>;
}

function hqOf(cfg: Config, io: CommandIo) {
  if (!cfg.hq) io.fail('HQ_DATABASE_URL: required for this command (the HQ owner role for `hq`, the site role for `sync`)');
  return cfg.hq;
}

/** `hq migrate`: applies migrations/postgres with the owner's URL; a second run changes nothing. */
export async function hqMigrate(cfg: Config, io: CommandIo): Promise<void> {
  const hq = hqOf(cfg, io);
  const pool = createHqPool(hq);
  try {
    const applied = await migrateHq(pool, hq.schema);
    io.out(applied.length > 0 ? `applied ${applied.join(', ')} to schema ${hq.schema}` : `schema ${hq.schema} is up to date`);
  } catch (err) {
    io.fail(`hq migrate failed: ${(err as Error).message}`);
  } finally {
    await pool.end();
  }
}

/** `hq add-site N --password-stdin`: the site's login role; prints its URL without the password. */
export async function hqAddSite(cfg: Config, args: string[], io: CommandIo): Promise<void> {
  const hq = hqOf(cfg, io);
  const site = Number(args[0]);
  if (!/^\d+$/.test(args[0] ?? '') || site < 1 || site > 1023) io.fail('usage: gateway hq add-site <1-1023> --password-stdin');
  if (!args.includes('--password-stdin')) io.fail('--password-stdin: required (the password is read from standard input, never from arguments)');
  const password = await io.readStdin();
  if (password.length < 12) io.fail('password: must be at least 12 characters');
  const pool = createHqPool(hq);
  try {
    const role = await addSite(pool, hq.schema, site, password);
    io.out(`site ${site}: role ${role}`);
    io.out(`HQ_DATABASE_URL=${redactUrl(siteUrl(hq.url, role))}`);
    io.out("(add the password to that URL on the site's box)");
  } catch (err) {
    io.fail(`hq add-site failed: ${(err as Error).message}`);
  } finally {
    await pool.end();
  }
}

/** `hq prune-changes [--horizon-days N]`: drops change-log entries every site has pulled, and any older than N days (30). */
export async function hqPruneChanges(cfg: Config, args: string[], io: CommandIo): Promise<void> {
  const hq = hqOf(cfg, io);
  const i = args.indexOf('--horizon-days');
  const unknown = args.filter((a, k) => a !== '--horizon-days' && k !== i + 1);
  if (unknown.length > 0) io.fail('usage: gateway hq prune-changes [--horizon-days N]');
  const raw = i >= 0 ? (args[i + 1] ?? '') : '30';
  if (!/^\d+$/.test(raw) || Number(raw) < 1) io.fail('--horizon-days: must be a whole number of days, at least 1');
  const pool = createHqPool(hq);
  try {
    const r = await pruneChangeLog(pool, Number(raw));
    io.out(`pruned ${r.pulled} change-log entries every site had pulled, ${r.expired} older than ${raw} days`);
  } catch (err) {
    io.fail(`hq prune-changes failed: ${(err as Error).message}`);
  } finally {
    await pool.end();
  }
}

/** `hash-password`: a hash in the gateway's format, for HQ tools that create users. */
export async function hashPassword(io: CommandIo): Promise<void> {
  const password = await io.readStdin();
  if (password.length < 8) io.fail('password: must be at least 8 characters');
  io.out(await createPasswordHasher().hash(password));
}

export function syncStatus(cfg: Config, io: CommandIo): void {
  const ctx = buildContext(cfg, silentLogger(), { processMetrics: false });
  try {
    io.out(JSON.stringify(readSyncStatus(ctx.store.sqlite, cfg.hq !== undefined), null, 2));
  } finally {
    ctx.store.close();
  }
}

/** `sync now`: one push and pull cycle; exit 0 only when both succeeded. */
export async function syncNow(cfg: Config, io: CommandIo): Promise<void> {
  hqOf(cfg, io);
  const ctx = buildContext(cfg, silentLogger(), { processMetrics: false });
  const worker = createGatewaySync(ctx, (line) => io.out(line));
  let failure: string | undefined;
  try {
    const r = await worker?.runCycle();
    io.out(`sync done: pushed ${r?.pushed ?? 0} rows, pulled ${r?.pulled ?? 0} changes, ${r?.rejected ?? 0} rejected`);
  } catch (err) {
    failure = `sync failed: ${(err as Error).message}`;
  } finally {
    await worker?.stop();
    ctx.store.close();
  }
  if (failure) io.fail(failure);
}

/** `sync restore`: a replacement box (empty database, same SITE_ID and HQ_DATABASE_URL) from HQ. */
export async function syncRestore(cfg: Config, io: CommandIo): Promise<void> {
  const hq = hqOf(cfg, io);
  const ctx = buildContext(cfg, silentLogger(), { processMetrics: false });
  const pool = createHqPool(hq);
  let failure: string | undefined;
  try {
    await restoreSite(ctx.store.sqlite, pool, cfg.siteId, (line) => io.out(line));
  } catch (err) {
    failure = `sync restore failed: ${(err as Error).message}`;
  } finally {
    await pool.end();
    ctx.store.close();
  }
  if (failure) io.fail(failure);
}

/** Parses `--all | ID…` of `sync replay-rejected` (an id is sync_rejected.id, as the status lists it). */
function replaySelection(args: string[], io: CommandIo): ReplaySelection {
  if (args.length === 1 && args[0] === '--all') return 'all';
  if (args.length === 0 || args.includes('--all')) io.fail('give --all or the ids of the set-aside rows to replay');
  const bad = args.find((a) => !/^[1-9]\d{0,15}$/.test(a));
  if (bad !== undefined) io.fail(`${bad}: not an id of a set-aside row (rejected[].id in \`gateway sync status\`)`);
  return args.map(Number);
}

/**
 * `sync replay-rejected --all | ID…`: once the cause is fixed, pushed rows set aside go back in
 * the outbox (the next push sends them) and pulled ones are re-read from HQ and applied now.
 */
export async function syncReplayRejected(cfg: Config, args: string[], io: CommandIo): Promise<void> {
  const selection = replaySelection(args, io);
  const hq = hqOf(cfg, io);
  const ctx = buildContext(cfg, silentLogger(), { processMetrics: false });
  let pool: ReturnType<typeof createHqPool> | undefined;
  let failure: string | undefined;
  try {
    const r = await replayRejected(
      {
        sqlite: ctx.store.sqlite,
        site: cfg.siteId,
        now: () => ctx.clock.now(),
        hq: () => {
          pool ??= createHqPool(hq);
          return pool;
        },
      },
      selection,
    );
    for (const k of r.kept) io.out(`kept ${k.direction} ${k.table} ${k.key}: ${k.why}`);
    io.out(
      `replay done: ${r.queued} pushed rows queued for the next push, ${r.applied} pulled rows applied, ${r.goneAtHq} no longer at HQ, ${r.kept.length} still set aside`,
    );
  } catch (err) {
    failure = `sync replay-rejected failed: ${(err as Error).message}`;
  } finally {
    await pool?.end();
    ctx.store.close();
  }
  if (failure) io.fail(failure);
}
