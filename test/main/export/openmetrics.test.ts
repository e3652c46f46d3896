// The OpenMetrics text pieces: timestamps that survive Prometheus's int64(seconds * 1000), values,
// escaping, and which families may carry a TYPE.
import { describe, expect, it } from 'vitest';
import { escapeText, familyHeader, familyOf, seriesText, timestampText, valueText } from '../../../main/export/openmetrics';
import { labelsFromRecord } from '../../../shared/labels';
import type { MetricMetadata } from '../../../main/ingest/metadata';

/** What Prometheus's OpenMetrics parser does with a timestamp: parse a float64, times 1000, truncate. */
const promReads = (s: string): number => Math.trunc(Number(s) * 1000);

describe('OpenMetrics text', () => {
  it('every millisecond timestamp reads back exactly through float seconds * 1000 (the plain decimal fails for ~0.6 %)', () => {
    let plainWouldFail = 0;
    for (let i = 0; i < 200_000; i++) {
      const ms = Math.floor(Math.random() * 4e12) - 2e11;
      const s = timestampText(ms);
      expect(s).toMatch(/^-?\d+(\.\d+)?$/);
      if (promReads(s) !== ms) expect([ms, s]).toEqual([ms, 'reads back']);
      if (Math.abs(Number(s) * 1000 - ms) >= 0.5) expect([ms, s]).toEqual([ms, 'within the millisecond']);
      if (s.length > String(Math.abs(ms)).length + 2) plainWouldFail++;
    }
    expect(plainWouldFail).toBeGreaterThan(200);
    expect(timestampText(1_700_000_000_000)).toBe('1700000000');
    expect(timestampText(1_700_000_000_120)).toBe('1700000000.12');
    expect(timestampText(16995099525)).not.toBe('16995099.525'); // 16995099.525 * 1000 = 16995099524.999998
    expect(promReads(timestampText(16995099525))).toBe(16995099525);
  });

  it('values use OpenMetrics spellings and round-trip', () => {
    expect([Infinity, -Infinity, NaN, 0, -0.5, 1e21, 5e-324, 1.7976931348623157e308].map(valueText)).toEqual(['+Inf', '-Inf', 'NaN', '0', '-0.5', '1e+21', '5e-324', '1.7976931348623157e+308']);
    for (const v of [0.1 + 0.2, 123456789.123456789, -1e-300]) expect(Number(valueText(v))).toBe(v);
  });

  it('escapes backslash, double quote and line feed only', () => {
    expect(escapeText('a\\b"c\nd\té')).toBe('a\\\\b\\"c\\nd\té');
    expect(seriesText(labelsFromRecord({ __name__: 'x', b: '"', a: '\n' }))).toBe('x{a="\\n",b="\\""}');
    expect(seriesText(labelsFromRecord({ __name__: 'x' }))).toBe('x');
  });

  it('families: counters by their stem, units only as a name suffix, multi-series types untyped', () => {
    const meta: Record<string, MetricMetadata> = {
      http_requests: { type: 'counter', help: 'h', unit: '' },
      legacy_total: { type: 'counter', help: '', unit: '' },
      temp_celsius: { type: 'gauge', help: '', unit: 'celsius' },
      weird: { type: 'gauge', help: '', unit: 'bytes' },
      lat: { type: 'histogram', help: 'L', unit: '' },
    };
    const look = (m: string) => meta[m];
    expect(familyOf('http_requests_total', look)).toMatchObject({ name: 'http_requests', type: 'counter' });
    expect(familyOf('legacy_total', look)).toMatchObject({ name: 'legacy', type: 'counter' }); // text-format scrape: family named with _total
    expect(familyHeader(familyOf('temp_celsius', look))).toBe('# TYPE temp_celsius gauge\n# UNIT temp_celsius celsius\n');
    expect(familyOf('weird', look).unit).toBe(''); // Prometheus's parser refuses a unit that is not the name's suffix
    expect(familyOf('lat_bucket', look)).toMatchObject({ name: 'lat_bucket', type: 'unknown' });
    expect(familyHeader(familyOf('nometa', look))).toBe('');
  });
});

describe('export progress', () => {
  it('a terminal gets a bar with series, samples, rate and ETA, redrawn at most every 200 ms; other stderr plain lines now and then', async () => {
    const { terminalProgress, lineProgress, progressLine } = await import('../../../main/export/progress');
    let now = 0;
    const drawn: string[] = [];
    const bar = terminalProgress({ columns: 100, redraw: (t) => drawn.push(t) }, () => now);
    now = 100;
    bar.update({ seriesDone: 1, seriesTotal: 4, samples: 10 });
    now = 1000;
    bar.update({ seriesDone: 2, seriesTotal: 4, samples: 500_000 });
    now = 1100;
    bar.update({ seriesDone: 3, seriesTotal: 4, samples: 600_000 }); // too soon: not drawn
    now = 2000;
    bar.done({ seriesDone: 4, seriesTotal: 4, samples: 1_000_000 });
    expect(drawn).toEqual([
      `[${'#'.repeat(20)}${'.'.repeat(20)}] series 2/4  500.0k samples  500.0k/s  ETA 0:01`,
      expect.stringMatching(/^\[#+\] series 4\/4  1\.00M samples  500\.0k\/s  ETA 0:00\n$/),
    ]);
    expect(progressLine({ seriesDone: 0, seriesTotal: 9, samples: 0 }, 0, 30)).not.toContain('[');
    const lines: string[] = [];
    now = 0;
    const plain = lineProgress((l) => lines.push(l), () => now, 10_000);
    now = 5_000;
    plain.update({ seriesDone: 1, seriesTotal: 2, samples: 5 });
    now = 10_000;
    plain.update({ seriesDone: 1, seriesTotal: 2, samples: 50_000 });
    expect(lines).toEqual(['export: series 1/2  50.0k samples  5000/s  ETA 0:10']);
  });
});
