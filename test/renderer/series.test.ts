import { describe, expect, it } from 'vitest';
import { alignMatrix, parseSampleValue, seriesName } from '../../renderer/series';
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
