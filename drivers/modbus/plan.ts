import type { Area, ModbusTag } from './config.ts';
import { registerCount } from '../engine/codec.ts';

/** One Modbus read request and the tags it serves. */
export interface ReadBlock {
  area: Area;
  start: number;
  count: number;
  tags: ModbusTag[];
}

interface PlanOptions {
  maxRegisters: number;
  maxBits: number;
  /** Unused addresses a block may span to join two tags (fewer round trips). */
  maxGap: number;
  onePerTag: boolean;
}

/**
 * Coalesces tags into as few requests as the limits allow: per area, sorted by address, a tag
 * joins the current block when the gap before it is at most maxGap and the block stays within
 * 125 registers / 2000 bits (or the device's lower quirk limit).
 */
export function planReads(tags: ModbusTag[], opts: PlanOptions): ReadBlock[] {
  const blocks: ReadBlock[] = [];
  const byArea = new Map<Area, ModbusTag[]>();
  for (const t of tags) byArea.set(t.area, [...(byArea.get(t.area) ?? []), t]);
  for (const [area, list] of byArea) {
    const bits = area === 'coil' || area === 'discrete';
    const limit = bits ? opts.maxBits : opts.maxRegisters;
    const sorted = [...list].sort((a, b) => a.address - b.address);
    let current: ReadBlock | undefined;
    for (const tag of sorted) {
      const size = bits ? 1 : registerCount(tag.data_type, tag.length);
      const end = tag.address + size;
      if (current && !opts.onePerTag) {
        const currentEnd = current.start + current.count;
        const gap = tag.address - currentEnd;
        const newCount = Math.max(currentEnd, end) - current.start;
        if (gap <= opts.maxGap && newCount <= limit) {
          current.count = newCount;
          current.tags.push(tag);
          continue;
        }
      }
      current = { area, start: tag.address, count: size, tags: [tag] };
      blocks.push(current);
    }
  }
  return blocks;
}
