// The in-memory head: every live series (labels decrypted at open), its not-yet-compacted
// samples, and postings (label name → value → series ids) for matcher lookups.
import { labelsKey, type Labels } from '../../shared/labels';
import { lowerBound } from './sorted';
import type { HeadHistograms } from './head-histograms';

const INITIAL_CAPACITY = 64;

export class MemSeries {
  /** Head samples not yet cut into chunk rows, in arrival order (sorted unless `sorted` is false). */
  // Typed-array allocation is costly: start with room for a few scrapes' worth and double.
  timestamps = new Float64Array(INITIAL_CAPACITY);
  values = new Float64Array(INITIAL_CAPACITY);
  count = 0;
  sorted = true;
  /** Head native-histogram samples (./head-histograms); null until the series has one. */
  hist: HeadHistograms | null = null;
  /** Over all of the series' samples (head and disk); Infinity/-Infinity when none. */
  minT = Infinity;
  lastT = -Infinity;
  lastV = NaN;
  /** Labels written to a series page (otherwise only in the log, or nowhere yet). */
  persisted = false;
  /** Labels written to the log or a page. */
  logged = false;
  /** Appender bookkeeping: the last pending sample of the open batch `pendingBatch`. */
  pendingBatch = 0;
  pendingT = 0;
  pendingV = 0;

  constructor(
    readonly id: number,
    readonly labels: Labels,
    readonly key: string,
  ) {}

  push(t: number, v: number): void {
    const n = this.count;
    if (n === this.timestamps.length) this.grow();
    if (t > this.lastT) {
      this.lastT = t;
      this.lastV = v;
    } else if (n > 0 && t <= this.timestamps[n - 1]!) this.sorted = false;
    if (t < this.minT) this.minT = t;
    this.timestamps[n] = t;
    this.values[n] = v;
    this.count = n + 1;
  }

  private grow(): void {
    const ts = new Float64Array(this.count * 2);
    const vs = new Float64Array(this.count * 2);
    ts.set(this.timestamps);
    vs.set(this.values);
    this.timestamps = ts;
    this.values = vs;
  }

  /** Sorts head samples by time; for equal timestamps the later arrival wins. */
  sortHead(): void {
    if (this.sorted) return;
    const idx = Array.from({ length: this.count }, (_, i) => i);
    const ts = this.timestamps;
    idx.sort((a, b) => ts[a]! - ts[b]! || b - a);
    const nt = new Float64Array(Math.max(INITIAL_CAPACITY, this.count));
    const nv = new Float64Array(nt.length);
    let n = 0;
    for (const i of idx) {
      if (n > 0 && nt[n - 1] === ts[i]) continue;
      nt[n] = ts[i]!;
      nv[n] = this.values[i]!;
      n++;
    }
    this.timestamps = nt;
    this.values = nv;
    this.count = n;
    this.sorted = true;
  }

  /**
   * The head samples in [mint, maxt], sorted, as views valid until the next append or cut (the
   * querier copies them; a head snapshot for a query worker copies them too).
   */
  window(mint: number, maxt: number): { timestamps: Float64Array; values: Float64Array } {
    if (this.count === 0) return { timestamps: this.timestamps.subarray(0, 0), values: this.values.subarray(0, 0) };
    this.sortHead();
    const head = this.timestamps.subarray(0, this.count);
    const lo = lowerBound(head, mint);
    const hi = lowerBound(head, maxt, true);
    return { timestamps: this.timestamps.subarray(lo, Math.max(lo, hi)), values: this.values.subarray(lo, Math.max(lo, hi)) };
  }

  /** Drops head samples [0, n) (they were written to chunk rows), giving back spare memory. */
  dropFirst(n: number): void {
    this.count -= n;
    if (this.timestamps.length > 4 * this.count + 64) {
      const cap = Math.max(INITIAL_CAPACITY, 2 * this.count);
      const ts = new Float64Array(cap);
      const vs = new Float64Array(cap);
      ts.set(this.timestamps.subarray(n, n + this.count));
      vs.set(this.values.subarray(n, n + this.count));
      this.timestamps = ts;
      this.values = vs;
      return;
    }
    this.timestamps.copyWithin(0, n, n + this.count);
    this.values.copyWithin(0, n, n + this.count);
  }

  /** Keeps only head samples for which `keep(t)` holds; returns how many were dropped. */
  filterHead(keep: (t: number) => boolean): number {
    let n = 0;
    for (let i = 0; i < this.count; i++) {
      if (!keep(this.timestamps[i]!)) continue;
      this.timestamps[n] = this.timestamps[i]!;
      this.values[n] = this.values[i]!;
      n++;
    }
    const dropped = this.count - n;
    this.count = n;
    return dropped;
  }
}

export class Head {
  /** By id; ids start at 1 so that ref 0 means "look up by labels". */
  private readonly byId: (MemSeries | undefined)[] = [undefined];
  private readonly byKey = new Map<string, MemSeries>();
  /** name → value → ids ascending. */
  readonly postings = new Map<string, Map<string, number[]>>();
  private live = 0;

  get size(): number {
    return this.live;
  }

  get nextId(): number {
    return this.byId.length;
  }

  get(id: number): MemSeries | undefined {
    return this.byId[id];
  }

  getByLabels(labels: Labels): MemSeries | undefined {
    return this.byKey.get(labelsKey(labels));
  }

  /** Adds a series with a given id (ids only grow, so postings stay sorted when ids are added in order). */
  add(id: number, labels: Labels, key = labelsKey(labels)): MemSeries {
    const s = new MemSeries(id, labels, key);
    while (this.byId.length <= id) this.byId.push(undefined);
    this.byId[id] = s;
    this.byKey.set(key, s);
    this.live++;
    for (const l of labels) {
      let values = this.postings.get(l.name);
      if (!values) this.postings.set(l.name, (values = new Map()));
      const ids = values.get(l.value);
      if (!ids) values.set(l.value, [id]);
      else if (ids[ids.length - 1]! < id) ids.push(id);
      else {
        ids.push(id);
        ids.sort((a, b) => a - b);
      }
    }
    return s;
  }

  remove(s: MemSeries): void {
    if (this.byId[s.id] !== s) return;
    this.byId[s.id] = undefined;
    this.byKey.delete(s.key);
    this.live--;
    for (const l of s.labels) {
      const values = this.postings.get(l.name);
      const ids = values?.get(l.value);
      if (!values || !ids) continue;
      const rest = ids.filter((i) => i !== s.id);
      if (rest.length) values.set(l.value, rest);
      else {
        values.delete(l.value);
        if (values.size === 0) this.postings.delete(l.name);
      }
    }
  }

  *all(): IterableIterator<MemSeries> {
    for (const s of this.byId) if (s) yield s;
  }
}
