import { mkdtempSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../src/config.ts';
import Sqlite from 'better-sqlite3';
import { isMigrated } from '../src/db/connection.ts';
import { SITE_SHIFT, siteOfId } from '../src/db/ids.ts';
import { parseTimestamp } from '../src/core/time.ts';
import { createPasswordHasher, OWASP_SCRYPT } from '../src/modules/auth/password.ts';
import { createAttemptThrottle } from '../src/modules/auth/throttle.ts';
import { createTokenService } from '../src/modules/auth/tokens.ts';
import { splitWindow } from '../src/modules/workorders/service.ts';

describe('password hashing', () => {
  it('uses OWASP scrypt parameters by default and verifies only the right password', async () => {
    const hasher = createPasswordHasher();
    const hash = await hasher.hash('correct horse battery');
    expect(hash.startsWith(`scrypt$${OWASP_SCRYPT.N}$8$3$`)).toBe(true);
    expect(OWASP_SCRYPT).toEqual({ N: 32768, r: 8, p: 3 });
    expect(await hasher.verify('correct horse battery', hash)).toBe(true);
    expect(await hasher.verify('wrong horse battery', hash)).toBe(false);
    expect(await hasher.verify('x', 'not-a-hash')).toBe(false);
    expect(await hasher.verifyDummy('anything')).toBe(false);
  });
});

describe('access tokens', () => {
  it('answers a verified token without a promise until it expires, and never one it has not verified', async () => {
    const tokens = createTokenService('unit-secret-unit-secret-unit-secret-0123', 60);
    const t0 = Date.UTC(2026, 10, 30, 8);
    const { token, sessionId } = await tokens.issue(5, t0);
    expect(tokens.verified(token, t0)).toBeUndefined();
    expect(await tokens.verify(token, t0)).toMatchObject({ userId: 5, sessionId });
    expect(tokens.verified(token, t0 + 59_000)).toMatchObject({ userId: 5, sessionId });
    expect(tokens.verified(token, t0 + 60_000)).toBeUndefined();
    expect(await tokens.verify(token, t0 + 60_000)).toBeUndefined();
    const forged = `${token.slice(0, -2)}xx`;
    expect(await tokens.verify(forged, t0)).toBeUndefined();
    expect(tokens.verified(forged, t0)).toBeUndefined();
  });
});

describe('config', () => {
  const dir = mkdtempSync(path.join(tmpdir(), 'gw-cfg-'));
  it('applies defaults and names the bad key', () => {
    const c = loadConfig({}, dir);
    expect(c).toMatchObject({ port: 8080, siteId: 1, plantTz: 'UTC', bodyLimit: 1024 * 1024, registrationOpen: true });
    expect(c.settings.stage_template.length).toBeGreaterThan(0);
    expect(() => loadConfig({ PLANT_TZ: 'Mars/Olympus' }, dir)).toThrow(/PLANT_TZ/);
    expect(() => loadConfig({ BODY_LIMIT: 'huge' }, dir)).toThrow(/BODY_LIMIT/);
    expect(loadConfig({ BODY_LIMIT: '2mb' }, dir).bodyLimit).toBe(2 * 1024 * 1024);
    expect(() => loadConfig({ JWT_SECRET: 'short' }, dir)).toThrow(ConfigError);
  });
  it('reads gateway.yaml and reports its bad keys', () => {
    const cfgDir = path.join(dir, 'c1');
    mkdirSync(cfgDir);
    writeFileSync(path.join(cfgDir, 'gateway.yaml'), 'stage_template: [weld, paint]\n');
    expect(loadConfig({ CONFIG_DIR: cfgDir }, dir).settings.stage_template).toEqual(['weld', 'paint']);
    writeFileSync(path.join(cfgDir, 'gateway.yaml'), 'stage_template: []\nunknown_key: 1\n');
    expect(() => loadConfig({ CONFIG_DIR: cfgDir }, dir)).toThrow(/gateway.yaml: (stage_template|unknown_key)/);
    writeFileSync(path.join(cfgDir, 'gateway.yaml'), 'stage_template: [a\n');
    expect(() => loadConfig({ CONFIG_DIR: cfgDir }, dir)).toThrow(/not valid YAML/);
  });
});

describe('timestamps', () => {
  it('takes offsets as written and plain times in the plant time zone', () => {
    expect(parseTimestamp('2026-11-26T08:00:00Z', 'UTC')).toBe(Date.UTC(2026, 10, 26, 8));
    expect(parseTimestamp('2026-11-26T09:00:00+01:00', 'UTC')).toBe(Date.UTC(2026, 10, 26, 8));
    expect(parseTimestamp('2026-11-26T09:00:00', 'Europe/Berlin')).toBe(Date.UTC(2026, 10, 26, 8));
    expect(parseTimestamp('2026-07-01T10:00:00', 'Europe/Berlin')).toBe(Date.UTC(2026, 6, 1, 8));
    expect(parseTimestamp('2026-11-26T08:00:00.123Z', 'UTC')).toBe(Date.UTC(2026, 10, 26, 8, 0, 0, 123));
    for (const bad of ['2026-02-30T00:00:00Z', '2026-11-26T25:00:00Z', 'yesterday', '2026-11-26T08:00:00+25:00', '']) {
      expect(parseTimestamp(bad, 'UTC')).toBeUndefined();
    }
  });
});

describe('ids and helpers', () => {
  it('site ranges stay below 2^53 and identify the site', () => {
    expect(1023 * SITE_SHIFT + SITE_SHIFT - 1).toBeLessThan(Number.MAX_SAFE_INTEGER);
    expect(siteOfId(7 * SITE_SHIFT + 12)).toBe(7);
  });
  it('splits a planned window evenly in order', () => {
    expect(splitWindow(['a', 'b', 'c'], 0, 9000)).toEqual([
      { stage_name: 'a', planned_start: 0, planned_end: 3000 },
      { stage_name: 'b', planned_start: 3000, planned_end: 6000 },
      { stage_name: 'c', planned_start: 6000, planned_end: 9000 },
    ]);
  });
  it('throttle counts attempts as they start, takes back released ones, and forgets after the window', () => {
    const t = createAttemptThrottle(2, 60);
    expect(t.take('k', 0)).toBe(0);
    expect(t.take('k', 1000)).toBe(0);
    expect(t.take('k', 2000)).toBe(58);
    t.release('k', 1000);
    expect(t.take('k', 2000)).toBe(0);
    // The attempt at 0 has left the window; the one at 2000 leaves it at 62000.
    expect(t.take('k', 61_000)).toBe(0);
    expect(t.take('k', 61_500)).toBe(1);
    expect(t.take('k', 62_000)).toBe(0);
  });
});

describe('byte orders (the worked example in docs/machine_integration.md)', () => {
  it('lays out float32 123.456 as documented', async () => {
    const { encodeRegisters, decodeRegisters } = await import('../drivers/engine/codec.ts');
    const table = { ABCD: [0x42f6, 0xe979], CDAB: [0xe979, 0x42f6], BADC: [0xf642, 0x79e9], DCBA: [0x79e9, 0xf642] } as const;
    for (const [order, words] of Object.entries(table)) {
      expect(encodeRegisters(123.456, 'float32', order as 'ABCD')).toEqual(words);
      expect(decodeRegisters(words, 'float32', order as 'ABCD') as number).toBeCloseTo(123.456, 4);
    }
  });
});

describe('readiness check', () => {
  it('calls a database without migrations unmigrated, and lets any other failure through as itself', () => {
    const db = new Sqlite(':memory:');
    expect(isMigrated(db, 1)).toBe(false);
    db.exec('CREATE TABLE __drizzle_migrations (id INTEGER)');
    db.exec('INSERT INTO __drizzle_migrations VALUES (1)');
    expect(isMigrated(db, 1)).toBe(true);
    expect(isMigrated(db, 2)).toBe(false);
    const failing = {
      prepare: () => {
        throw Object.assign(new Error('disk I/O error'), { code: 'SQLITE_IOERR_READ' });
      },
    } as unknown as Sqlite.Database;
    expect(() => isMigrated(failing, 1)).toThrow(/disk I\/O error/);
    db.close();
  });
});
