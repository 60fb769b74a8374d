import type { KeysetSource } from '../store/keyset';

/** One page of a keyset-ordered list: bounded in rows and in serialized bytes. */
export interface Page<K, T> {
  readonly items: T[];
  /** The key of the last item when more follow (the next page starts after it), else null. */
  readonly next: K | null;
  /** What `items` take as a JSON array, brackets aside. */
  readonly bytes: number;
}

export interface PageRequest<K> {
  /** Start after this key; undefined: from the start. */
  readonly after?: K | undefined;
  /** At most this many items; 0 gives an empty page and no `next`. */
  readonly limit: number;
  /**
   * At most this many bytes of items as JSON. An item over it alone still makes a page (one
   * item at least, so that paging always moves on): no field is cut short. How big one alert
   * can be is bounded at ingest (QUELL_MAX_BODY_BYTES), so a page is never far over.
   */
  readonly maxBytes: number;
  /**
   * For sources that filter as they read (rows given as `row: undefined` were read and left
   * out): at most this many rows are read, kept or not, before the page ends anyway, with
   * `next` where the reading stopped; such a page may hold fewer items than `limit`, even none.
   * @defaultValue no bound
   */
  readonly maxScanned?: number;
}

/** What the answer around a page (field names, cursors, an incident's own fields) may take. */
export const ENVELOPE_BYTES = 1024;

/** Rows are fetched this many at a time, so that a byte budget reached early reads little more. */
const CHUNK = 100;

export const jsonBytes = (value: unknown): number => Buffer.byteLength(JSON.stringify(value));

/**
 * Reads a page: rows in chunks, until the limit, the byte budget or the list's end. The rows'
 * JSON size is measured as the answer will send it (Dates as ISO strings).
 */
export async function boundedPage<K, T>(
  source: KeysetSource<K, T | undefined>, req: PageRequest<K>,
): Promise<Page<K, T>> {
  const items: T[] = [];
  let bytes = 0;
  let last: K | undefined = req.after;
  let scanned = 0;
  if (req.limit <= 0) return { items, next: null, bytes };
  for (;;) {
    const want = Math.min(req.limit - items.length, CHUNK) + 1; // one more tells whether more follow
    const rows = await source(last, want);
    for (const { key, row } of rows) {
      if (row === undefined) {
        last = key;
        if (++scanned >= (req.maxScanned ?? Infinity)) return { items, next: last, bytes };
        continue;
      }
      if (items.length === req.limit) return { items, next: last ?? null, bytes };
      const size = jsonBytes(row) + (items.length > 0 ? 1 : 0); // the comma
      if (items.length > 0 && bytes + size > req.maxBytes) return { items, next: last ?? null, bytes };
      items.push(row);
      bytes += size;
      last = key;
      if (++scanned >= (req.maxScanned ?? Infinity) && items.length < req.limit) return { items, next: last, bytes };
    }
    if (rows.length < want) return { items, next: null, bytes };
  }
}
