import type { ApiItem } from '../client/types.ts';
import type { PlantTime } from '../core/plant-time.ts';
import { t } from './strings.ts';

/** A reading as GET /machines/{id}/readings returns it (the fields the chart needs). */
export type ChartReading = Pick<ApiItem<'GET /machines/{machine_id}/readings'>, 'value' | 'unit' | 'quality' | 'timestamp'>;

export const CHART_SPAN_MS = 3600_000;
const BUCKET_MS = 60_000;
const BUCKETS = CHART_SPAN_MS / BUCKET_MS;
/** A reading type whose tag the device config does not know (posted through the API) is taken as sampled once a minute. */
const DEFAULT_PERIOD_MS = 60_000;

/**
 * Empty minutes in a row from which the chart shades "no data": more than the tag's own sampling
 * period can leave empty (with 10% for jitter). Once a minute: 2 empty minutes (as the stale rule);
 * every 2.5 minutes: 3; every second: 1.
 */
export function gapBuckets(periodMs: number | undefined): number {
  return Math.floor(((periodMs ?? DEFAULT_PERIOD_MS) * 1.1) / BUCKET_MS) + 1;
}

interface Bucket {
  start: number;
  n: number;
  bad: number;
  uncertain: number;
  values: number;
  min: number;
  max: number;
  sum: number;
}

// Plot area inside a 600 × 178 view box; text stays unscaled because the aspect ratio is kept.
const X0 = 84;
const X1 = 590;
const Y0 = 12;
const Y1 = 128;
const BAD_Y = 136;

export const num = (v: number) => (Math.abs(v) >= 1000 ? v.toFixed(0) : String(Number(v.toPrecision(4))));

/** One-minute buckets of the last hour: count, bad, uncertain, min/max/mean of the usable values. */
export function bucketize(readings: ChartReading[], now: number): Bucket[] {
  const from = now - CHART_SPAN_MS;
  const buckets: Bucket[] = Array.from({ length: BUCKETS }, (_, i) => ({
    start: from + i * BUCKET_MS,
    n: 0,
    bad: 0,
    uncertain: 0,
    values: 0,
    min: Number.POSITIVE_INFINITY,
    max: Number.NEGATIVE_INFINITY,
    sum: 0,
  }));
  for (const r of readings) {
    const ts = Date.parse(r.timestamp);
    if (!(ts >= from && ts <= now)) continue;
    const b = buckets[Math.min(BUCKETS - 1, Math.floor((ts - from) / BUCKET_MS))];
    if (!b) continue;
    b.n++;
    // A bad reading is never drawn as a value, even when the source sent one.
    if (r.quality === 'bad' || r.value === null) {
      b.bad += r.quality === 'bad' ? 1 : 0;
      continue;
    }
    if (r.quality === 'uncertain') b.uncertain++;
    b.values++;
    b.min = Math.min(b.min, r.value);
    b.max = Math.max(b.max, r.value);
    b.sum += r.value;
  }
  return buckets;
}

/** Runs of at least `minBuckets` empty minutes, as [first, last] bucket indexes. */
function gaps(buckets: Bucket[], minBuckets: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  let start = -1;
  buckets.forEach((b, i) => {
    if (b.n === 0 && start < 0) start = i;
    if ((b.n > 0 || i === buckets.length - 1) && start >= 0) {
      const end = b.n > 0 ? i - 1 : i;
      if (end - start + 1 >= minBuckets) out.push([start, end]);
      start = -1;
    }
  });
  return out;
}

/** What the chart says in words: for its <desc> and for screen readers. */
export function chartSummary(readings: ChartReading[], now: number, unit: string, time: PlantTime, periodMs: number | undefined): string {
  const buckets = bucketize(readings, now);
  const usable = readings.filter((r) => r.quality !== 'bad' && r.value !== null && Date.parse(r.timestamp) >= now - CHART_SPAN_MS);
  const bad = buckets.reduce((a, b) => a + b.bad, 0);
  const parts: string[] = [];
  if (usable.length === 0) parts.push(t.chartNoValues);
  else {
    const values = usable.map((r) => r.value as number);
    const last = usable.reduce((a, r) => (Date.parse(r.timestamp) >= Date.parse(a.timestamp) ? r : a));
    parts.push(
      t.chartRange(num(Math.min(...values)), num(Math.max(...values)), `${num(last.value as number)} ${unit}`.trim(), time.clock(Date.parse(last.timestamp))),
    );
  }
  if (bad > 0) parts.push(t.chartBad(bad));
  const found = gaps(buckets, gapBuckets(periodMs));
  // A few gaps are named; many (a slow or patchy source) are summed up.
  if (found.length <= 3)
    for (const [a, b] of found) parts.push(t.chartGap(time.hhmm(buckets[a]?.start ?? now), time.clock((buckets[b]?.start ?? now) + BUCKET_MS)));
  else
    parts.push(
      t.chartGaps(
        found.length,
        found.reduce((n, [a, b]) => n + b - a + 1, 0),
      ),
    );
  return parts.join(' ');
}

/**
 * The last hour of one reading type as an inline SVG (no script, no library): the mean per minute
 * as a line, the minute's min–max as a band, bad readings as red marks under the plot, minutes
 * without data shaded grey, uncertain minutes as hollow amber dots. A table carries the same data.
 */
export function Chart(props: {
  id: string;
  label: string;
  readings: ChartReading[];
  now: number;
  capped: boolean;
  time: PlantTime;
  /** The tag's sampling period (device config): stretches it leaves empty by design are not "no data". */
  periodMs: number | undefined;
}) {
  const { readings, now, time } = props;
  const buckets = bucketize(readings, now);
  const unit = readings.find((r) => r.unit)?.unit ?? '';
  const withValues = buckets.filter((b) => b.values > 0);
  const lo = withValues.length ? Math.min(...withValues.map((b) => b.min)) : 0;
  const hi = withValues.length ? Math.max(...withValues.map((b) => b.max)) : 1;
  // A flat signal is drawn mid-height rather than on the bottom edge.
  const pad = hi === lo ? Math.abs(hi) * 0.1 || 1 : 0;
  const x = (i: number) => X0 + ((i + 0.5) * (X1 - X0)) / BUCKETS;
  const y = (v: number) => Y1 - ((v - (lo - pad)) / (hi - lo + 2 * pad)) * (Y1 - Y0);
  const w = (X1 - X0) / BUCKETS;
  // The line breaks at every minute without a usable value.
  const lines: string[] = [];
  let run: string[] = [];
  buckets.forEach((b, i) => {
    if (b.values > 0) run.push(`${x(i).toFixed(1)},${y(b.sum / b.values).toFixed(1)}`);
    else if (run.length) {
      lines.push(run.join(' '));
      run = [];
    }
  });
  if (run.length) lines.push(run.join(' '));
  const summary = chartSummary(readings, now, unit, time, props.periodMs);
  return (
    <figure class="chart" data-chart={props.id}>
      <svg viewBox="0 0 600 178" role="img" aria-labelledby={`${props.id}-t ${props.id}-d`} data-points={String(readings.length)}>
        <title id={`${props.id}-t`}>{`${props.label} · ${t.chartLastHour}`}</title>
        <desc id={`${props.id}-d`}>{summary}</desc>
        <rect x={X0} y={Y0} width={X1 - X0} height={Y1 - Y0} class="plot" />
        {gaps(buckets, gapBuckets(props.periodMs)).map(([a, b]) => (
          <rect x={X0 + a * w} y={Y0} width={(b - a + 1) * w} height={Y1 - Y0} class="gap" />
        ))}
        {buckets.map((b, i) => (b.values > 0 && b.max > b.min ? <line x1={x(i)} x2={x(i)} y1={y(b.min)} y2={y(b.max)} class="band" /> : null))}
        {lines.map((points) => (
          <polyline points={points} class="line" />
        ))}
        {buckets.map((b, i) =>
          b.values > 0 ? (
            <circle cx={x(i)} cy={y(b.sum / b.values)} r={b.uncertain === b.values ? '4' : '2.5'} class={b.uncertain === b.values ? 'uncertain' : 'point'} />
          ) : null,
        )}
        {buckets.map((b, i) => (b.bad > 0 ? <rect x={X0 + i * w} y={BAD_Y} width={w} height="10" class="bad" /> : null))}
        <text x={X0 - 6} y={Y0 + 14} class="axis" text-anchor="end">
          {withValues.length ? num(hi) : ''}
        </text>
        <text x={X0 - 6} y={Y1} class="axis" text-anchor="end">
          {withValues.length ? num(lo) : ''}
        </text>
        <text x={X0} y="174" class="axis">
          {time.clock(now - CHART_SPAN_MS)}
        </text>
        <text x={X1} y="174" class="axis" text-anchor="end">
          {time.clock(now)}
        </text>
      </svg>
      <p class="legend muted">{t.chartLegend}</p>
      <figcaption>
        {summary}
        {props.capped && ` ${t.chartCapped(readings.length)}`}
      </figcaption>
      <details>
        <summary>{t.chartTable}</summary>
        <div class="table-wrap">
          <table>
            <thead>
              <tr>
                <th scope="col">{t.chartMinute}</th>
                <th scope="col">{t.chartMin}</th>
                <th scope="col">{t.chartMean}</th>
                <th scope="col">{t.chartMax}</th>
                <th scope="col">{t.chartCount}</th>
                <th scope="col">{t.qualityBad}</th>
              </tr>
            </thead>
            <tbody>
              {buckets
                .filter((b) => b.n > 0)
                .map((b) => (
                  <tr>
                    <th scope="row">{time.clock(b.start)}</th>
                    <td>{b.values ? num(b.min) : '—'}</td>
                    <td>{b.values ? num(b.sum / b.values) : '—'}</td>
                    <td>{b.values ? num(b.max) : '—'}</td>
                    <td>{b.n}</td>
                    <td>{b.bad}</td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      </details>
    </figure>
  );
}
