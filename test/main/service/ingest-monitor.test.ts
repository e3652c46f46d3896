import { describe, expect, it } from 'vitest';
import { BUCKET_MS, IngestMonitor } from '../../../main/service/ingest-monitor';

describe('IngestMonitor', () => {
  it('turns the store counters into samples/s and series per bucket', () => {
    let now = 1_000 * BUCKET_MS;
    const m = new IngestMonitor(() => now);
    m.observe('ws-a', { series: 2, samples: 0 });
    now += BUCKET_MS;
    m.observe('ws-a', { series: 3, samples: 300 });
    now += BUCKET_MS;
    m.observe('ws-a', { series: 3, samples: 450 });
    expect(m.currentRate('ws-a')).toBe(10);
    const s = m.series('ws-a', { start: (1_000 * BUCKET_MS) / 1000, end: now / 1000, step: 15 });
    expect(s.timestamps).toEqual([15_000, 15_015, 15_030]);
    expect(s.samplesPerSecond).toEqual([null, 20, 10]);
    expect(s.activeSeries).toEqual([2, 3, 3]);
    expect(s.rejected).toEqual([]);
  });

  it('counts rejections by reason as a per-second rate, zero where nothing was refused', () => {
    let now = 2_000 * BUCKET_MS;
    const m = new IngestMonitor(() => now);
    m.observe('ws-a', { series: 1, samples: 1 });
    m.reject('ws-a', 'out_of_order', 30);
    now += BUCKET_MS;
    m.observe('ws-a', { series: 1, samples: 1 });
    const s = m.series('ws-a', { start: (2_000 * BUCKET_MS) / 1000, end: now / 1000, step: 15 });
    expect(s.rejected).toEqual([{ reason: 'out_of_order', values: [2, 0] }]);
  });

  it('keeps workspaces apart and forgets a deleted one', () => {
    const m = new IngestMonitor(() => 0);
    m.reject('ws-a', 'too_old');
    expect(m.series('ws-b', { start: 0, end: 0, step: 15 }).rejected).toEqual([]);
    m.forget('ws-a');
    expect(m.series('ws-a', { start: 0, end: 0, step: 15 }).rejected).toEqual([]);
    expect(m.currentRate('ws-a')).toBe(0);
  });

  it('never reports a negative rate when retention shrinks the store', () => {
    let now = 0;
    const m = new IngestMonitor(() => now);
    m.observe('ws-a', { series: 1, samples: 1000 });
    now += BUCKET_MS;
    m.observe('ws-a', { series: 1, samples: 10 });
    expect(m.currentRate('ws-a')).toBe(0);
  });
});
