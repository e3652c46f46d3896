// Explore's pure parts: axis and table values with units, the view in the URL, the unit a query
// is in, and the selectors the editor's completion asks the workspace with.
import { describe, expect, it } from 'vitest';
import { metricsInQuery, parseView, selectorOf, unitOfQuery, viewHash } from '../../renderer/explore-view';
import { formatValue, unitOfName } from '../../renderer/format';

describe('formatValue', () => {
  it('keeps large and small values short with SI prefixes, never exponents', () => {
    expect(formatValue(25_000_000_000)).toBe('25G');
    expect(formatValue(1_234_567)).toBe('1.23M');
    expect(formatValue(0.0025)).toBe('2.5m');
    expect(formatValue(999)).toBe('999');
    expect(formatValue(-4200)).toBe('-4.2k');
    expect(formatValue(0)).toBe('0');
    for (const v of [1e10, 3.3e15, 7e-8, 123456789012]) expect(formatValue(v)).not.toMatch(/e[+-]/);
  });
  it('uses binary prefixes for bytes and readable durations for seconds', () => {
    expect(formatValue(1.5 * 1024 ** 3, 'B')).toBe('1.5 GiB');
    expect(formatValue(512, 'B')).toBe('512 B');
    expect(formatValue(2048, 'B/s')).toBe('2 KiB/s');
    expect(formatValue(0.025, 's')).toBe('25 ms');
    expect(formatValue(90, 's')).toBe('1.5 min');
    expect(formatValue(7200, 's')).toBe('2 h');
    expect(formatValue(0, 's')).toBe('0 s');
  });
  it('passes NaN and infinities through as words', () => {
    expect(formatValue(Number.NaN)).toBe('NaN');
    expect(formatValue(Infinity, 'B')).toBe('Infinity');
  });
});

describe('units from metric names', () => {
  it('reads _bytes and _seconds, also before _total, _sum and _bucket', () => {
    expect(unitOfName('node_memory_MemAvailable_bytes')).toBe('B');
    expect(unitOfName('http_request_duration_seconds_bucket')).toBe('s');
    expect(unitOfName('process_cpu_seconds_total')).toBe('s');
    expect(unitOfName('http_requests_total')).toBe('');
    expect(unitOfName('bytes_seen_count')).toBe('');
  });
  it('takes the unit of the metric a query reads; a rate of bytes is per second', () => {
    expect(unitOfQuery('sum(node_memory_MemAvailable_bytes)')).toBe('B');
    expect(unitOfQuery('rate(node_network_receive_bytes_total[5m])')).toBe('B/s');
    expect(unitOfQuery('histogram_quantile(0.9, rate(http_request_duration_seconds_bucket[5m]))')).toBe('s');
    expect(unitOfQuery('up')).toBe('');
    expect(unitOfQuery('x', 'disk_bytes')).toBe('B');
  });
});

describe('the view in the URL', () => {
  it('round-trips queries and a preset range', () => {
    const view = { queries: ['rate(a_total[5m])', 'b{job="x&y"}'], range: 21600 };
    const hash = viewHash('ws-abc', view);
    expect(hash.startsWith('#/explore/ws-abc?')).toBe(true);
    expect(parseView(new URLSearchParams(hash.split('?')[1]))).toEqual(view);
  });
  it('round-trips a fixed from/to range', () => {
    const view = { queries: ['up'], range: 600, from: 1_700_000_000, to: 1_700_000_600 };
    expect(parseView(new URLSearchParams(viewHash('ws-abc', view).split('?')[1]))).toEqual(view);
  });
  it('ignores nonsense and keeps at most eight queries', () => {
    expect(parseView(new URLSearchParams('range=-5&from=9&to=3'))).toEqual({ queries: [], range: 3600 });
    expect(parseView(new URLSearchParams('range=abc'))).toEqual({ queries: [], range: 3600 });
    expect(parseView(new URLSearchParams(Array.from({ length: 12 }, (_, i) => `q=m${i}`).join('&'))).queries).toHaveLength(8);
  });
});

describe('completion selectors', () => {
  const m = (type: number, name: string, value: string) => ({ type, name, value, matchesEmpty: () => (type === 176 && value === '') || (type === 177 && value === '.*') });
  it('names the metric and the other matchers, quoted', () => {
    expect(selectorOf('up')).toBe('{__name__="up"}');
    expect(selectorOf('up', [m(176, 'job', 'a"b'), m(178, 'env', 'dev.*')])).toBe('{__name__="up",job="a\\"b",env!~"dev.*"}');
    expect(selectorOf(undefined, [m(176, 'service.name', 'api')])).toBe('{"service.name"="api"}');
  });
  it('leaves out the label being completed and matchers that select nothing on their own', () => {
    expect(selectorOf('up', [m(176, 'device', '')], 'device')).toBe('{__name__="up"}');
    expect(selectorOf(undefined, [m(176, 'job', '')])).toBeUndefined();
    expect(selectorOf(undefined)).toBeUndefined();
  });
});

describe('metrics a query reads (for their TYPE/HELP/UNIT beside the editor)', () => {
  const known = new Set(['http_requests_total', 'up', 'job', 'le', 'x']);
  const has = (n: string) => known.has(n);
  it('finds metric names, not label names, strings, ranges or grouping labels', () => {
    expect(metricsInQuery('sum by (job, le) (rate(http_requests_total{job="up"}[5m])) / on(job) up', has)).toEqual(['http_requests_total', 'up']);
    expect(metricsInQuery('label_replace(up, "x", "$1", "job", "(.*)")', has)).toEqual(['up']);
  });
  it('lists each once and at most three', () => {
    expect(metricsInQuery('up + up', has)).toEqual(['up']);
    expect(metricsInQuery('up + x + http_requests_total + job', has)).toEqual(['up', 'x', 'http_requests_total']);
  });
});
