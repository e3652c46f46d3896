import { describe, expect, it } from 'vitest';
import { alignMatrix, parseSampleValue, plotSeries, seriesName } from '../../renderer/series';
import { stepFor } from '../../renderer/explore-view';
import { formatTags, parseTags } from '../../renderer/pages/sensitive-warning';
import { formatBytes, formatRate } from '../../renderer/format';

describe('alignMatrix', () => {
  it('puts every series on one sorted time axis with gaps as null', () => {
    const aligned = alignMatrix([
      { metric: { __name__: 'up', job: 'b' }, values: [[20, '1'], [30, '0']] },
      { metric: { __name__: 'up', job: 'a' }, values: [[10, '1'], [30, 'NaN']] },
    ]);
    expect(aligned.timestamps).toEqual([10, 20, 30]);
    expect(aligned.series).toEqual([
      { name: 'up{job="b"}', values: [null, 1, 0] },
      { name: 'up{job="a"}', values: [1, null, null] },
    ]);
  });

  it('reads Prometheus value strings; what uPlot cannot draw becomes a gap', () => {
    expect(parseSampleValue('1.5e3')).toBe(1500);
    expect(parseSampleValue('+Inf')).toBeNull();
    expect(parseSampleValue('-Inf')).toBeNull();
    expect(parseSampleValue('NaN')).toBeNull();
  });

  it('draws native histograms by their count, floats and histograms of one series on one line', () => {
    const h = (count: string) => ({ count, sum: '1', buckets: [[0, '1', '2', count]] as const });
    expect(plotSeries({ resultType: 'vector', result: [{ metric: { a: 'b' }, histogram: [5, h('3')] }, { metric: {}, value: [5, '1'] }] })).toEqual([
      { metric: { a: 'b' }, values: [[5, '3']], histogram: true },
      { metric: {}, values: [[5, '1']], histogram: false },
    ]);
    const m = plotSeries({ resultType: 'matrix', result: [{ metric: {}, values: [[1, '7']], histograms: [[2, h('4')], [0, h('2')]] }] });
    expect(m[0]!.values).toEqual([[0, '2'], [1, '7'], [2, '4']]);
    expect(m[0]!.histogram).toBe(true);
  });

    it('names series the way Prometheus prints them', () => {
    expect(seriesName({ __name__: 'http_requests_total', code: '200', method: 'GET' })).toBe('http_requests_total{code="200", method="GET"}');
    expect(seriesName({ job: 'x' })).toBe('{job="x"}');
  });
});

describe('explore and form helpers', () => {
  it('picks about 250 points per range, never below one second', () => {
    expect(stepFor(3600)).toBe(14);
    expect(stepFor(60)).toBe(1);
    expect(stepFor(604800)).toBe(2419);
  });

  it('parses and prints tags', () => {
    expect(parseTags('team=platform, env = staging\nowner=sre')).toEqual({ team: 'platform', env: 'staging', owner: 'sre' });
    expect(parseTags('  ')).toEqual({});
    expect(() => parseTags('justakey')).toThrow(/key=value/);
    expect(formatTags({ a: '1', b: '2' })).toBe('a=1, b=2');
  });

  it('formats sizes and rates', () => {
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(1536)).toBe('1.5 KiB');
    expect(formatRate(12.34)).toBe('12.3/s');
  });
});
