/**
 * JSON text standing for a value of type `T`, for the envelope to embed as it is. Only
 * `RowJsonCache` makes one, by `JSON.stringify` of a view its mapper typed as `T`, so a handler
 * returning it answers the very bytes it would have answered with the view itself.
 */
export class JsonText<T> {
  /** Carries the type only (never set): a `JsonText<Row>` is no `JsonText<OtherRow>`. */
  declare readonly of: T;
  constructor(readonly text: string) {}
}

/** A page of a list whose items are already one JSON array. */
export interface JsonPage<T> {
  items: JsonText<T[]>;
  nextCursor: string | null;
}

/** Rows of a raw statement (`.raw(true)`): the first column is the row's id. */
type RawRow = readonly [number, ...unknown[]];

/** Rows remembered by a cache at most; 4,096 rows of ~250 bytes of JSON each are ~2 MB of heap. */
const MAX_ROWS = 4096;

/**
 * Speed-up "row JSON cache" (issue 24): each row's JSON, kept by id beside the raw row it was
 * written from, and used again while a new read of that id returns the same values in every
 * column. A page of 50 work orders then costs a comparison of 450 values instead of building 50
 * views, 200 ISO timestamps and a 12 kB `JSON.stringify`: in a micro test 17 µs against 286 µs
 * per page (loaded VM, Node 24), which were together about a sixth of `GET /workorders?limit=50`'s
 * CPU profile (docs/benchmarks.md, issue 24). Nothing is invalidated by writes: a row changed in
 * any column no longer matches and is written again, so the answer is always the row as read now.
 */
export class RowJsonCache<Row extends RawRow, View> {
  private readonly rows = new Map<number, { row: Row; json: string }>();

  constructor(
    private readonly toView: (row: Row) => View,
    private readonly max = MAX_ROWS,
  ) {}

  /** One row as JSON text. */
  one(row: Row): JsonText<View> {
    return new JsonText<View>(this.json(row));
  }

  /** Rows as one JSON array. */
  array(rows: readonly Row[]): JsonText<View[]> {
    let text = '[';
    for (let i = 0; i < rows.length; i++) text += i === 0 ? this.json(rows[i] as Row) : `,${this.json(rows[i] as Row)}`;
    return new JsonText<View[]>(`${text}]`);
  }

  private json(row: Row): string {
    const id = row[0];
    const known = this.rows.get(id);
    if (known !== undefined && sameValues(known.row, row)) return known.json;
    const json = JSON.stringify(this.toView(row));
    if (known !== undefined) this.rows.delete(id);
    else if (this.rows.size >= this.max) this.rows.delete(this.rows.keys().next().value as number);
    // Re-inserted at the end: the first key is the one least recently written.
    this.rows.set(id, { row, json });
    return json;
  }
}

function sameValues(a: RawRow, b: RawRow): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
