import { ISSUE_TYPES } from '../../core/vocabulary.ts';
import type { ApiData, ApiItem } from '../../client/types.ts';
import type { PlantTime } from '../../core/plant-time.ts';
import { FormGuard, StatusBadge } from '../layout.tsx';
import { formKey } from '../session.ts';
import { t } from '../strings.ts';

/** A stage as GET /stages returns it (the route's schema). */
export type Stage = ApiItem<'GET /stages'>;

/** A work order as GET /workorders returns it (the route's schema). */
export type WorkOrder = ApiData<'GET /workorders/{wo_id}'>;

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

/** The steps that need more than a tap (quantities, a reason, a description) get a page of their own. */
export const STAGE_STEPS = ['done', 'pause', 'issue'] as const;
export type StageStep = (typeof STAGE_STEPS)[number];
export const stepHref = (stageId: number, step: StageStep) => `/console/work/${stageId}/${step}`;

/** A button that opens a step's page: a real button, and a plain GET, so it works with JavaScript off. */
function StepButton(props: { stage: Stage; step: StageStep; label: string; kind?: string }) {
  return (
    <form method="get" action={stepHref(props.stage.id, props.step)}>
      <button type="submit" class={props.kind}>
        {props.label}
      </button>
    </form>
  );
}

/** "1 h 05 min" / "12 min" / "less than a minute". */
export function duration(seconds: number): string {
  const m = Math.floor(Math.max(0, seconds) / 60);
  if (m === 0) return t.lessThanMinute;
  return m < 60 ? `${m} min` : `${Math.floor(m / 60)} h ${String(m % 60).padStart(2, '0')} min`;
}

/** Worked and paused time of a running or paused stage (paused_s from GET /stages/{id}/metrics). */
function Elapsed(props: { stage: Stage; pausedS: number | undefined; now: number }) {
  const { stage } = props;
  if (!stage.actual_start || (stage.status !== 'in_progress' && stage.status !== 'paused')) return null;
  const paused = props.pausedS ?? 0;
  const from = Date.parse(stage.actual_start) + paused * 1000;
  // A running stage's worked time goes on counting on screen (the page's script, every 15 s).
  const running = stage.status === 'in_progress';
  return (
    <p data-elapsed>
      <strong
        data-worked-from={running ? String(from) : undefined}
        data-template={running ? t.worked('{d}') : undefined}
        data-less={running ? t.lessThanMinute : undefined}
      >
        {t.worked(duration((props.now - from) / 1000))}
      </strong>
      {paused >= 60 && ` · ${t.pausedFor(duration(paused))}`}
    </p>
  );
}

function StageHead(props: { stage: Stage; wo: WorkOrder | undefined; time: PlantTime; now: number; label: string }) {
  const { stage, time } = props;
  return (
    <>
      <h2 id={props.label}>
        {stage.stage_name} <StatusBadge status={stage.status} />
      </h2>
      <p>
        {t.workOrder} {props.wo ? `${props.wo.product_code} · lot ${props.wo.lot_no} · qty ${props.wo.qty}` : `#${stage.work_order_id}`}
        {(stage.planned_start || stage.planned_end) && (
          <>
            <br />
            <span class="muted">
              {t.planned}: {time.at(stage.planned_start, props.now)} – {time.at(stage.planned_end, props.now)}
            </span>
          </>
        )}
      </p>
    </>
  );
}

function StageCard(props: { stage: Stage; wo: WorkOrder | undefined; csrf: string; now: number; time: PlantTime; pausedS: number | undefined }) {
  const { stage, csrf } = props;
  const s = stage.status;
  const label = `stage-${stage.id}`;
  // The next likely action is the one primary button; Done (it cannot be undone) is set apart in
  // colour and asks on a page of its own; the rest are outlined.
  return (
    <section class="card" aria-labelledby={label} data-stage={stage.id}>
      <StageHead stage={stage} wo={props.wo} time={props.time} now={props.now} label={label} />
      <Elapsed stage={stage} pausedS={props.pausedS} now={props.now} />
      <div class="actions">
        {s === 'planned' && <ActionForm stage={stage} action="start" csrf={csrf} label={t.start} />}
        {s === 'paused' && <ActionForm stage={stage} action="resume" csrf={csrf} label={t.resume} />}
        {s === 'in_progress' && <StepButton stage={stage} step="done" label={t.doneStep} kind="finish" />}
        {s === 'in_progress' && <StepButton stage={stage} step="pause" label={t.pauseStep} kind="secondary" />}
        {s !== 'done' && <StepButton stage={stage} step="issue" label={t.reportIssueStep} kind="secondary" />}
      </div>
    </section>
  );
}

/** One step of a stage on its own page: Done asks to confirm (with quantities), Pause asks why, an issue what. */
export function StepPage(props: { stage: Stage; wo: WorkOrder | undefined; step: StageStep; csrf: string; now: number; time: PlantTime }) {
  const { stage, csrf, step } = props;
  const label = `stage-${stage.id}`;
  const name = stage.stage_name;
  return (
    <section class="card step" aria-labelledby={label} data-stage={stage.id} data-step={step}>
      <StageHead stage={stage} wo={props.wo} time={props.time} now={props.now} label={label} />
      {step === 'done' && (
        <ActionForm stage={stage} action="done" csrf={csrf} label={t.confirmDone(name)} kind="finish">
          <p class="warning">{t.doneCannotUndo}</p>
          <label for={`good-${stage.id}`}>{t.qtyGood}</label>
          <input id={`good-${stage.id}`} name="qty_good" type="number" min="0" inputmode="numeric" />
          <label for={`scrap-${stage.id}`}>{t.qtyScrap}</label>
          <input id={`scrap-${stage.id}`} name="qty_scrap" type="number" min="0" inputmode="numeric" />
          <br />
        </ActionForm>
      )}
      {step === 'pause' && (
        <ActionForm stage={stage} action="pause" csrf={csrf} label={t.confirmPause(name)}>
          <label for={`reason-${stage.id}`}>{t.pauseReason}</label>
          <input id={`reason-${stage.id}`} name="reason" required maxlength={500} />
          <br />
        </ActionForm>
      )}
      {step === 'issue' && (
        <ActionForm stage={stage} action="issue" csrf={csrf} label={t.send}>
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
      )}
      <p>
        <a href="/console/work" class="button secondary">
          {t.cancel}
        </a>
      </p>
    </section>
  );
}

/** "My work": the caller's stages that are not done, with the actions their state allows. */
export function WorkPage(props: {
  stages: Stage[];
  workOrders: Map<number, WorkOrder>;
  pausedS: Map<number, number>;
  csrf: string;
  now: number;
  time: PlantTime;
}) {
  if (props.stages.length === 0) return <p>{t.noWork}</p>;
  return (
    <div class="cards" data-live-region>
      {props.stages.map((s) => (
        <StageCard stage={s} wo={props.workOrders.get(s.work_order_id)} csrf={props.csrf} now={props.now} time={props.time} pausedS={props.pausedS.get(s.id)} />
      ))}
    </div>
  );
}
