import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { type Browser, chromium } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { encodeRegisters } from '../../drivers/engine/codec.ts';
import { PACKAGE_ROOT } from '../../src/lib/package-root.ts';
import type { RunningGateway } from '../../src/main.ts';
import { createUser } from '../../src/modules/auth/service.ts';
import { listeningGateway } from '../helpers/app.ts';
import { audit, CHROMIUM, SIZES } from '../helpers/browser.ts';
import { freePort, loginOverHttp, until } from '../helpers/server.ts';
import { demoDevices } from '../sim/demo-plant.ts';
import { ModbusSim } from '../sim/modbus-sim.ts';
import { OpcuaSim } from '../sim/opcua-sim.ts';

// End to end with the demo's plant (`npm run demo`: its simulators and its devices file, press-01,
// oven-01 and cnc-02): the test, not the demo's animation, sets press-01's state and stroke registers,
// so the press runs, stops and runs when the test says; the gateway records the stop as downtime; a
// supervisor picks its reason in Chromium; the OEE figures match a calculation by hand.

const MIN = 60_000;
const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);

interface Figures {
  planned_ms: number;
  run_ms: number;
  measured_to: string;
  good: number;
  scrap: number;
  availability: number;
  performance: number;
  quality: number;
  oee: number;
  losses: { breakdown_ms: number; unassigned_ms: number };
  inputs: { states: Array<{ state: string; from: string; to: string; ms: number }> };
}
interface Downtime {
  id: number;
  machine_id: number;
  started_at: string;
  ended_at: string | null;
  state: string;
  reason_code: string | null;
}

describe.skipIf(!existsSync(CHROMIUM))("OEE end to end: the demo's PLCs, the gateway, a browser", () => {
  let dir: string;
  let gw: RunningGateway;
  let modbus: ModbusSim;
  let opcua: OpcuaSim;
  let base: string;
  let token: string;
  let browser: Browser;
  // The shift runs every day from the minute an hour before the test to an hour after (UTC plant).
  const shiftStart = Math.floor((Date.now() - 60 * MIN) / MIN) * MIN;
  // press-01's registers in the demo's devices file: state at holding 0, strokes (uint32, CDAB) at 4.
  const pressState = (state: 0 | 1 | 2) => {
    modbus.holding[0] = state;
  };
  const strokes = (n: number) =>
    encodeRegisters(n, 'uint32', 'CDAB').forEach((w, i) => {
      modbus.holding[4 + i] = w;
    });

  beforeAll(async () => {
    dir = mkdtempSync(path.join(tmpdir(), 'gw-oee-e2e-'));
    modbus = new ModbusSim(await freePort());
    opcua = new OpcuaSim(await freePort(), { namespaceUri: 'urn:edge-gateway:simulator', pkiDir: path.join(dir, 'opcua-sim') });
    await modbus.start();
    await opcua.start();
    pressState(1);
    strokes(1000);
    modbus.holding[100] = 1; // cnc-02 runs throughout: its downtime would only crowd the list
    const cfg = path.join(dir, 'config');
    mkdirSync(cfg);
    writeFileSync(path.join(cfg, 'devices.yaml'), stringify(demoDevices(PACKAGE_ROOT, modbus.port, opcua)));
    writeFileSync(
      path.join(cfg, 'gateway.yaml'),
      `devices_file: devices.yaml
readings: { flush_interval_ms: 20 }
oee:
  shifts: [{ name: test, days: [sun, mon, tue, wed, thu, fri, sat], start: "${hhmm(shiftStart)}", end: "${hhmm(shiftStart + 120 * MIN)}" }]
  downtime: { threshold_s: 1 }
  ideal_cycle_s: { machines: { press-01: 0.5 } }
  counters: { press-01: { good: stroke_count, wrap: 4294967296 } }
`,
    );
    ({ gw, base } = await listeningGateway(dir, { CONFIG_DIR: cfg, PLANT_TZ: 'UTC' }));
    await createUser(gw.ctx, { username: 'mona', password: 'mona-password', role: 'manager' });
    token = await loginOverHttp(base, 'mona', 'mona-password');
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run'] });
  }, 120_000);

  afterAll(async () => {
    await browser?.close();
    await gw?.stop();
    await modbus?.stop();
    await opcua?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const get = async <T>(url: string) => ((await (await fetch(`${base}${url}`, { headers: { authorization: `Bearer ${token}` } })).json()) as { data: T }).data;
  type Machine = { id: number; name: string; status: string; latest: Record<string, { value: number } | undefined> };
  const press = async () => (await get<Machine[]>('/machines')).find((m) => m.name === 'press-01');
  const pressDowntimes = async (id: number) => get<Downtime[]>(`/downtimes?machine_id=${id}`);

  it('run, stop, run: one downtime, its reason picked in the browser, OEE as computed by hand', async () => {
    await until(async () => (await press())?.status === 'running', 30_000);
    const machineId = (await press())?.id ?? 0;
    await until(async () => (await press())?.latest.stroke_count?.value === 1000);
    strokes(1010);
    await until(async () => (await press())?.latest.stroke_count?.value === 1010);
    pressState(2); // the press stops ...
    await until(async () => (await press())?.status === 'down');
    // ... for longer than the threshold: the gateway opens a downtime record while it stands.
    await until(async () => (await pressDowntimes(machineId)).some((d) => d.ended_at === null), 30_000);
    pressState(1); // ... and runs again
    strokes(1030);
    await until(async () => (await press())?.status === 'running');
    // The stop is the press's one `down` record; the gateway's start-up (the press offline or idle
    // until its PLC's first poll, a second or more) may be a record of its own, without a reason.
    let downtimes: Downtime[] = [];
    await until(async () => {
      downtimes = await pressDowntimes(machineId);
      return downtimes.filter((d) => d.state === 'down' && d.ended_at !== null).length === 1;
    });
    const stop = downtimes.find((d) => d.state === 'down') as Downtime;
    const startUp = downtimes.filter((d) => d !== stop);
    expect(startUp.every((d) => d.ended_at !== null && Date.parse(d.ended_at) <= Date.parse(stop.started_at))).toBe(true);

    const page = await (await browser.newContext({ viewport: SIZES.tablet })).newPage();
    await page.goto(`${base}/console/login`);
    await page.getByLabel('Username').fill('mona');
    await page.getByLabel('Password').fill('mona-password');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.goto(`${base}/console/machines`);
    const item = page.locator(`li[data-downtime="${stop.id}"]`);
    const picker = item.getByLabel('Reason');
    expect((await picker.boundingBox())?.height).toBeGreaterThanOrEqual(56);
    await picker.selectOption('jam');
    await item.getByRole('button', { name: 'Save reason' }).click();
    await page.getByText('Reason saved.').waitFor();
    await page.locator(`li[data-downtime="${stop.id}"]`).getByText('Mechanical / Jam').waitFor();
    // The tiles and the picker meet the console's rules: 56 px targets on a tablet, 48 on a phone, axe-core AA.
    await page.locator(`[data-oee-machine="${machineId}"]`).waitFor();
    await audit(page, 'Machines with OEE tiles and downtime');
    expect((await get<Downtime>(`/downtimes/${stop.id}`)).reason_code).toBe('jam');

    await until(async () => (await press())?.latest.stroke_count?.value === 1030);
    const f = await get<Figures>(`/machines/${machineId}/oee?from=${new Date(shiftStart - MIN).toISOString()}&to=${new Date(Date.now() + MIN).toISOString()}`);
    // By hand. Planned: the shift so far (no breaks). Run: from the press's first `running` (the
    // gateway started inside the shift; before that, and before the first poll, is not run time)
    // to the stop, and from the stop's end to now. Pieces: the stroke counter rose 1000 → 1030.
    const measuredTo = Date.parse(f.measured_to);
    const [stopFrom, stopTo] = [Date.parse(stop.started_at), Date.parse(stop.ended_at ?? '')];
    const running = f.inputs.states.filter((s) => s.state === 'running');
    expect(running).toHaveLength(2);
    expect(f.inputs.states.filter((s) => s.state === 'down')).toEqual([expect.objectContaining({ from: stop.started_at, to: stop.ended_at })]);
    const firstRun = Date.parse(running[0]?.from ?? '');
    const planned = measuredTo - shiftStart;
    const run = stopFrom - firstRun + (measuredTo - stopTo);
    expect(f.planned_ms).toBe(planned);
    expect(f.run_ms).toBe(run);
    expect(f.losses.breakdown_ms).toBe(stopTo - stopFrom); // jam is a breakdown (Mechanical)
    expect(f.losses.unassigned_ms).toBe(startUp.reduce((sum, d) => sum + Date.parse(d.ended_at ?? '') - Date.parse(d.started_at), 0));
    expect([f.good, f.scrap]).toEqual([30, 0]);
    expect(f.availability).toBeCloseTo(run / planned, 12);
    expect(f.performance).toBeCloseTo((30 * 500) / run, 12);
    expect(f.quality).toBe(1);
    expect(f.oee).toBeCloseTo((30 * 500) / planned, 12);
  }, 120_000);
});
