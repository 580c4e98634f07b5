// The floor console's "my work" page beside the JSON it is built from, against the same gateway in
// the same run: the page costs GET /auth/me, GET /stages?assigned_to=me and one GET /workorders/{id}
// per work order in-process, plus rendering.
import { load, pct, printTable } from './lib.ts';

/** What bench/servers/gateway.ts reports when ready (the fields used here). */
export interface ConsoleBenchGateway {
  port: number;
  token: string;
  stageIds: number[];
}

const STAGES = 20;
const STAGES_PER_WO = 4;

export async function benchConsole(gw: ConsoleBenchGateway): Promise<void> {
  const base = `http://127.0.0.1:${gw.port}`;
  const admin = { authorization: `Bearer ${gw.token}`, 'content-type': 'application/json' };
  const username = `bench-worker-${Date.now()}`;
  const password = 'bench-worker-password';
  const created = await fetch(`${base}/auth/register`, { method: 'POST', headers: admin, body: JSON.stringify({ username, password, role: 'worker' }) });
  const userId = ((await created.json()) as { data: { id: number } }).data.id;
  // Five work orders, four stages each: the page lists 20 stages and reads five work orders.
  for (const stageId of gw.stageIds.slice(0, STAGES)) {
    await fetch(`${base}/stages/${stageId}/assignments`, { method: 'POST', headers: admin, body: JSON.stringify({ user_id: userId }) });
  }
  const login = await fetch(`${base}/console/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({ username, password }).toString(),
    redirect: 'manual',
  });
  const cookie = (login.headers.getSetCookie().find((c) => c.startsWith('gw_session=')) ?? '').split(';')[0] ?? '';
  const tokenRes = await fetch(`${base}/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
  const token = ((await tokenRes.json()) as { data: { access_token: string } }).data.access_token;

  const json = await load({ url: `${base}/stages?assigned_to=me`, headers: { authorization: `Bearer ${token}` } });
  const page = await load({ url: `${base}/console/work`, headers: { cookie } });
  printTable(`Floor console "my work" (${STAGES} stages over ${STAGES / STAGES_PER_WO} work orders), same gateway, same run`, [
    { request: 'GET /stages?assigned_to=me (JSON)', 'req/s': json.rps, 'p50 ms': json.p50, 'p99 ms': json.p99, 'of JSON': '100%', errors: json.errors },
    {
      request: 'GET /console/work (HTML page)',
      'req/s': page.rps,
      'p50 ms': page.p50,
      'p99 ms': page.p99,
      'of JSON': pct(page.rps, json.rps),
      errors: page.errors,
    },
  ]);
}
