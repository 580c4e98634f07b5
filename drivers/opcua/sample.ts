import type { DataValue } from 'node-opcua';
import type { Sample } from '../engine/types.ts';
import type { Quality } from '../../src/core/vocabulary.ts';
import type { OpcuaTag } from './config.ts';

/** StatusCode → quality, with the code's name as reason when not good. */
function qualityOf(dv: DataValue): { quality: Quality; reason: string | null } {
  const sc = dv.statusCode;
  if (sc.isGood()) return { quality: 'good', reason: null };
  if (sc.isBad()) return { quality: 'bad', reason: sc.name };
  return { quality: 'uncertain', reason: sc.name };
}

function numeric(value: unknown): number | string | null {
  if (typeof value === 'number') return value;
  if (typeof value === 'boolean') return value ? 1 : 0;
  if (typeof value === 'bigint') return Number(value);
  if (typeof value === 'string') return value;
  if (Array.isArray(value) && value.length === 2 && value.every((v) => typeof v === 'number')) {
    // Int64/UInt64 arrive as [high, low].
    return (value[0] as number) * 2 ** 32 + (value[1] as number);
  }
  return null;
}

/** One tag's DataValue as a sample: scaled, with the source (else server) timestamp and its quality. */
export function toSample(tag: OpcuaTag, dv: DataValue | undefined, now: () => number): Sample {
  if (!dv) return { tag: tag.name, value: null, quality: 'bad', reason: 'no value in the answer', sourceTs: now() };
  const { quality, reason } = qualityOf(dv);
  const raw = numeric(dv.value?.value);
  const value = typeof raw === 'number' ? raw * tag.scale + tag.offset : raw;
  const ts = dv.sourceTimestamp?.getTime() ?? dv.serverTimestamp?.getTime() ?? now();
  if (quality !== 'bad' && (value === null || (typeof value === 'number' && !Number.isFinite(value)))) {
    return { tag: tag.name, value: null, quality: 'bad', reason: 'value is not a finite number', sourceTs: ts };
  }
  return { tag: tag.name, value: quality === 'bad' ? null : value, quality, reason, sourceTs: ts };
}
