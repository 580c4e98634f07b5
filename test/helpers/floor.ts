import { body, type TestGateway } from './app.ts';

export interface Stage {
  id: number;
  status: string;
  seq: number;
  actual_start: string | null;
  actual_end: string | null;
  assigned_user_ids: number[];
  qty_good: number | null;
  qty_scrap: number | null;
}
export interface WorkOrder {
  id: number;
  status: string;
  stages: Stage[];
}

/** Creates a work order through the API and returns it with its stages. */
export async function createWorkOrder(gw: TestGateway, token: string, extra: Record<string, unknown> = {}): Promise<WorkOrder> {
  const res = await gw.req('POST', '/workorders', {
    token,
    body: { product_code: 'P-1', lot_no: 'LOT-1', qty: 10, planned_start: '2026-11-26T08:00:00Z', planned_end: '2026-11-26T16:00:00Z', ...extra },
  });
  if (res.status !== 201) throw new Error(`create work order: ${res.status} ${await res.text()}`);
  return (await body<WorkOrder>(res)).data;
}

export async function act(gw: TestGateway, token: string, stageId: number, action: string, payload: Record<string, unknown> = {}) {
  const res = await gw.req('POST', `/stages/${stageId}/${action}`, { token, body: payload });
  return { status: res.status, env: await body<Stage>(res) };
}
