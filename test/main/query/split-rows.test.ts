// A range call shared with a helper (query/split-rows.ts) gives the answer one thread gives, bit
// for bit: the helper here runs on this thread but gets its task as a thread would (structured
// clone of the packed series, from a real encrypted store: rows and head, staleness markers,
// counter resets, gaps). A helper that fails leaves its share to the query's thread; one that
// runs past the deadline times the query out.
import { afterAll, describe, expect, it } from 'vitest';
import { rangeQuery, type EngineOptions } from '../../../main/query/engine';
import type { RowsHelper, RowsTask } from '../../../main/query/evaluator';
import { computeRows } from '../../../main/query/split-rows';
import { openTsdb } from '../../../main/tsdb/index';
import { STALE_NAN_BITS } from '../../../main/tsdb/types';
import { lbl, tempDir, TestKeys } from '../tsdb/helpers';

const STALE = new Float64Array(new BigUint64Array([STALE_NAN_BITS]).buffer)[0]!;
const T0 = 1_700_000_000_000;
const STEP = 15_000;
const SERIES = 40;

const dir = tempDir();
const db = openTsdb({ path: dir.file('ws.db'), workspaceId: 'ws-split', keys: new TestKeys(), bucketMs: 3600_000 });
afterAll(() => {
  db.close();
  dir.remove();
});
const fill = (from: number, to: number) => {
  const app = db.appender();
  for (let i = from; i < to; i++) {
    for (let s = 0; s < SERIES; s++) {
      if ((i + s) % 97 === 0) continue; // gaps
      const v = s % 5 === 0 && i % 333 === 7 ? STALE : ((i * (s + 1)) % (500 + s)) + s / 7; // resets, markers
      app.append(0, lbl({ __name__: s % 2 ? 'req_total' : 'load', instance: `h-${s}`, job: `j-${s % 3}` }), T0 + i * STEP, v);
    }
    if (i % 40 === 39) app.commit();
  }
  app.commit();
};
fill(0, 1200); // 5 h: rows for the first buckets
db.compact();
fill(1200, 1260); // and the head

type Answer = ReturnType<NonNullable<ReturnType<RowsHelper['start']>>['wait']>;

/**
 * A helper on this thread that takes every call of `minSeries` series or more, its task cloned as
 * a thread receives it. As threads meet anywhere, it takes series from the end when the task
 * starts: `share` of those offered ('all', 'none': the query's thread was faster, or 'half').
 */
function helperHere(minSeries: number, share: 'all' | 'half' | 'none' = 'half', answer: (task: RowsTask) => Answer = computeRows) {
  const h = {
    minSeries,
    tasks: 0,
    start(make: () => RowsTask) {
      const task = structuredClone(make());
      h.tasks++;
      if (share === 'none') return { wait: () => answer(task) };
      // Flags set in front stop the helper halfway; cleared again, the query's thread takes those.
      const flags = new Uint8Array(task.taken);
      const stopAt = share === 'all' ? 0 : flags.length >> 1;
      flags.fill(1, 0, stopAt);
      const got = answer(task);
      flags.fill(0, 0, stopAt);
      return { wait: () => got };
    },
  };
  return h;
}

const END = T0 + 1259 * STEP;
const QUERIES = [
  'rate({__name__=~"req_total|load"}[5m])',
  'sum by (job) (rate(req_total[5m]))',
  'topk(5, increase(load[10m]))',
  'max_over_time(load[30m] offset 7m)',
  'count_over_time({job="j-1"}[1h])',
  'deriv(load[5m]) * 2',
];
const run = (q: string, opts: EngineOptions) => rangeQuery(db.querier(), q, T0 + 600_000, END, 60_000, opts);

describe('a range call shared with a helper', () => {
  it('answers as one thread does, bit for bit, annotations included', () => {
    for (const q of QUERIES) {
      const alone = run(q, {});
      expect((alone.value as { series: unknown[] }).series.length, q).toBeGreaterThan(0);
      for (const share of ['all', 'half', 'none'] as const) {
        const helper = helperHere(2, share);
        expect(run(q, { helper }), `${q} (${share})`).toEqual(alone);
        expect(helper.tasks, q).toBe(1);
      }
    }
    // The counter-name info comes from the helper's series too (load is not a counter name).
    const one = helperHere(2);
    const ann = run('rate({__name__=~"req_total|load"}[5m])', { helper: one }).annotations;
    expect(ann.infos.some((i) => i.includes('"load"'))).toBe(true);
  });

  it('points at the decrypted rows in shared memory instead of copying them', () => {
    let task: RowsTask | undefined;
    const helper = helperHere(2, 'half', (t) => ((task = t), computeRows(t)));
    expect(run(QUERIES[1]!, { helper })).toEqual(run(QUERIES[1]!, {}));
    const { shared, chunkSource, bytes } = task!.series;
    expect(shared.length).toBeGreaterThan(0);
    for (const view of shared) expect(view.buffer).toBeInstanceOf(SharedArrayBuffer);
    expect(chunkSource.length).toBeGreaterThan(0);
    expect(chunkSource.every((s) => s > 0)).toBe(true);
    expect(bytes.length).toBe(0); // this querier's head comes as samples, not chunks: nothing to copy
  });

  it('takes only calls of minSeries series or more', () => {
    const helper = helperHere(SERIES + 1);
    run(QUERIES[0]!, { helper });
    expect(helper.tasks).toBe(0);
  });

  it("computes a failed helper's share on the query's thread", () => {
    const helper = helperHere(2, 'half', () => null);
    expect(run(QUERIES[1]!, { helper })).toEqual(run(QUERIES[1]!, {}));
    expect(helper.tasks).toBe(1);
  });

  it('times the query out when the helper reports the deadline passed', () => {
    const helper = helperHere(2, 'none', (task) => {
      while (Date.now() <= task.deadline); // as a helper still busy at the deadline
      return 'timeout';
    });
    expect(() => run(QUERIES[0]!, { helper, timeoutMs: 30 })).toThrow('query timed out in expression evaluation');
  });
});
