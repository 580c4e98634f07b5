import { FormGuard, StatusBadge, shortTime } from '../layout.tsx';
import { formKey } from '../session.ts';
import { t } from '../strings.ts';

/** A stage as GET /stages returns it (the fields the console shows). */
export interface Stage {
  id: number;
  work_order_id: number;
  seq: number;
  stage_name: string;
  planned_start: string | null;
  planned_end: string | null;
  status: string;
  qty_good: number | null;
  qty_scrap: number | null;
  assigned_user_ids: number[];
}

/** A work order as GET /workorders returns it. */
export interface WorkOrder {
  id: number;
  product_code: string;
  lot_no: string;
  qty: number;
  planned_start: string;
  planned_end: string;
  status: string;
}

export const ISSUE_TYPES = ['machine_breakdown', 'material_shortage', 'quality', 'tooling', 'safety', 'other'] as const;

function ActionForm(props: { stage: Stage; action: string; csrf: string; label: string; kind?: string; children?: unknown }) {
  return (
    <form method="post" action={`/console/stages/${props.stage.id}/${props.action}`}>
      <FormGuard csrf={props.csrf} idem={formKey()} />
      {props.children as never}
      <button type="submit" class={props.kind}>
        {props.label}
      </button>
    </form>
  );
}

function StageCard(props: { stage: Stage; wo: WorkOrder | undefined; csrf: string; now: number }) {
  const { stage, wo, csrf } = props;
  const s = stage.status;
  const label = `stage-${stage.id}`;
  return (
    <section class="card" aria-labelledby={label} data-stage={stage.id}>
      <h2 id={label}>
        {stage.stage_name} <StatusBadge status={s} />
      </h2>
      <p>
        {t.workOrder} {wo ? `${wo.product_code} · lot ${wo.lot_no} · qty ${wo.qty}` : `#${stage.work_order_id}`}
        {(stage.planned_start || stage.planned_end) && (
          <>
            <br />
            <span class="muted">
              {t.planned}: {shortTime(stage.planned_start, props.now)} – {shortTime(stage.planned_end, props.now)}
            </span>
          </>
        )}
      </p>
      <div class="actions">
        {s === 'planned' && <ActionForm stage={stage} action="start" csrf={csrf} label={t.start} />}
        {s === 'paused' && <ActionForm stage={stage} action="resume" csrf={csrf} label={t.resume} />}
      </div>
      {s === 'in_progress' && (
        <>
          <details>
            <summary>{t.done}</summary>
            <ActionForm stage={stage} action="done" csrf={csrf} label={t.done}>
              <label for={`good-${stage.id}`}>{t.qtyGood}</label>
              <input id={`good-${stage.id}`} name="qty_good" type="number" min="0" inputmode="numeric" />
              <label for={`scrap-${stage.id}`}>{t.qtyScrap}</label>
              <input id={`scrap-${stage.id}`} name="qty_scrap" type="number" min="0" inputmode="numeric" />
              <br />
            </ActionForm>
          </details>
          <details>
            <summary>{t.pause}</summary>
            <ActionForm stage={stage} action="pause" csrf={csrf} label={t.pause} kind="secondary">
              <label for={`reason-${stage.id}`}>{t.pauseReason}</label>
              <input id={`reason-${stage.id}`} name="reason" required maxlength={500} />
              <br />
            </ActionForm>
          </details>
        </>
      )}
      {s !== 'done' && (
        <details>
          <summary>{t.reportIssue}</summary>
          <ActionForm stage={stage} action="issue" csrf={csrf} label={t.send} kind="danger">
            <label for={`type-${stage.id}`}>{t.issueType}</label>
            <select id={`type-${stage.id}`} name="type">
              {ISSUE_TYPES.map((x) => (
                <option value={x}>{x.replace('_', ' ')}</option>
              ))}
            </select>
            <label for={`desc-${stage.id}`}>{t.issueDescription}</label>
            <input id={`desc-${stage.id}`} name="description" required maxlength={2000} />
            <br />
          </ActionForm>
        </details>
      )}
    </section>
  );
}

/** "My work": the caller's stages that are not done, with the actions their state allows. */
export function WorkPage(props: { stages: Stage[]; workOrders: Map<number, WorkOrder>; csrf: string; now: number }) {
  if (props.stages.length === 0) return <p>{t.noWork}</p>;
  return (
    <div class="cards" data-live-region>
      {props.stages.map((s) => (
        <StageCard stage={s} wo={props.workOrders.get(s.work_order_id)} csrf={props.csrf} now={props.now} />
      ))}
    </div>
  );
}
