import { describe, expect, it } from 'vitest';
import { RowJsonCache } from '../src/http/json-rows.ts';

type Row = [number, string, number | null];
const toView = (r: Row) => ({ id: r[0], name: r[1], at: r[2] === null ? null : new Date(r[2]).toISOString() });

describe('row JSON cache', () => {
  it('answers the bytes JSON.stringify of the views would', () => {
    const cache = new RowJsonCache<Row, ReturnType<typeof toView>>(toView);
    const rows: Row[] = [
      [1, 'plain', 0],
      [2, 'quote " and \\ and \n and ü and \u2028', null],
    ];
    expect(cache.array(rows).text).toBe(JSON.stringify(rows.map(toView)));
    expect(cache.array([]).text).toBe('[]');
    expect(cache.one([2, 'x', 5]).text).toBe(JSON.stringify(toView([2, 'x', 5])));
  });

  it('writes a row again when any column changed since it was cached', () => {
    let written = 0;
    const cache = new RowJsonCache<Row, ReturnType<typeof toView>>((r) => {
      written++;
      return toView(r);
    });
    expect(cache.one([7, 'a', 1000]).text).toContain('"name":"a"');
    expect(cache.one([7, 'a', 1000]).text).toContain('"name":"a"');
    expect(written).toBe(1);
    expect(cache.one([7, 'b', 1000]).text).toContain('"name":"b"');
    expect(cache.one([7, 'b', 2000]).text).toContain('"at":"1970-01-01T00:00:02.000Z"');
    expect(cache.one([7, 'b', null]).text).toContain('"at":null');
    expect(written).toBe(4);
  });

  it('keeps at most its limit of rows, dropping the least recently written', () => {
    let written = 0;
    const cache = new RowJsonCache<Row, ReturnType<typeof toView>>((r) => {
      written++;
      return toView(r);
    }, 2);
    cache.one([1, 'a', 0]);
    cache.one([2, 'b', 0]);
    cache.one([3, 'c', 0]); // drops 1
    cache.one([2, 'b', 0]);
    cache.one([3, 'c', 0]);
    expect(written).toBe(3);
    cache.one([1, 'a', 0]);
    expect(written).toBe(4);
  });
});
