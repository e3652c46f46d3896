// PromQL regexes with Go RE2's syntax and linear-time matching (re2js): patterns JavaScript's
// RegExp refuses or reads differently, patterns that make a backtracking engine hang, the fast
// paths checked against the regex engine, and all of it through the HTTP API over a real store.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { RE2JS } from 're2js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCipher } from '../../../main/crypto/cipher';
import { handlePromApi } from '../../../main/query/api';
import { RegexSyntaxError, compilePromRegex, valueMatcher } from '../../../main/query/regex';
import { openTsdb, type Tsdb } from '../../../main/tsdb';
import { labelsFromRecord } from '../../../shared/labels';

/** [pattern, a value it fully matches, a value it does not]: RE2 syntax JavaScript lacks or reads otherwise. */
const GO_ONLY: [string, string, string][] = [
  ['(?i)foo', 'FoO', 'fo'],
  ['(?i:ab)c', 'ABc', 'ABC'],
  ['foo\\z', 'foo', 'foo\n'],
  ['\\Afoo', 'foo', 'xfoo'],
  ['\\Qa.b*\\E', 'a.b*', 'axbb'],
  ['[[:alpha:]]+[[:digit:]]', 'abc1', 'abc'],
  ['\\pL+', 'héllo', 'h3llo'],
  ['\\p{Greek}+', 'αβγ', 'abc'],
  ['(?U)a+', 'aaa', 'b'],
  ['(?P<x>a)b', 'ab', 'a'],
  ['(?s:.)', '\n', ''],
  ['a.c', 'a\nc', 'ac'],
  ['[^\\x00-\\x{10FFFE}]', '\u{10FFFF}', 'a'],
  ['x{,3}', 'x{,3}', 'xxx'], // a literal in Go (and in RE2), not a repeat
  ['(?i)straße', 'STRAßE', 'strasse'],
];

/** Backtrack catastrophically in JavaScript; RE2 answers in linear time. [pattern, subject, expected]. */
const CATASTROPHIC: [string, string, boolean][] = [
  ['(a+)+b', 'a'.repeat(100_000), false],
  ['(a*)*b', 'a'.repeat(100_000), false],
  ['(a|aa)*c', 'a'.repeat(100_000), false],
  ['(a|a)+', 'a'.repeat(100_000), true],
  ['(.*a){20}', 'a'.repeat(20_000) + 'b', false],
  ['.*.*.*.*.*.*.*x', 'y'.repeat(50_000), false],
  ['(x+x+)+y', 'x'.repeat(50_000), false],
  ['(\\w|\\d)+x', '1'.repeat(100_000), false],
  ['([a-z]+)*$', 'abc'.repeat(30_000) + '!', false],
];

/** Go's regexp refuses these; so must we, with its error text. */
const GO_REFUSES: [string, RegExp][] = [
  ['(a)\\1', /invalid escape sequence: `\\1`/],
  ['(?=a)a', /invalid or unsupported Perl syntax/],
  ['(?!a)b', /invalid or unsupported Perl syntax/],
  ['a\\Z', /invalid escape sequence: `\\Z`/],
  ['a{1001}', /invalid repeat count/],
  ['(a', /missing closing \)/],
  ['*a', /missing argument to repetition operator/],
  ['[a', /missing closing \]/],
  ['(?<=a)b', /invalid/],
  ['('.repeat(1500) + ')'.repeat(1500), /nests too deeply/],
];

describe('RE2 syntax', () => {
  for (const [p, yes, no] of GO_ONLY) {
    it(`${p} matches ${JSON.stringify(yes)} and not ${JSON.stringify(no)}`, () => {
      const re = compilePromRegex(p);
      expect(re.test(yes)).toBe(true);
      expect(re.test(no)).toBe(false);
    });
  }
  for (const [p, msg] of GO_REFUSES) {
    it(`refuses ${p.slice(0, 20)}`, () => {
      expect(() => compilePromRegex(p)).toThrow(RegexSyntaxError);
      expect(() => compilePromRegex(p)).toThrow(msg);
    });
  }
  it('matches the whole value only (Prometheus anchors every matcher)', () => {
    expect(compilePromRegex('b').test('abc')).toBe(false);
    expect(compilePromRegex('a|b').test('ab')).toBe(false);
    expect(compilePromRegex('a|bc').test('bc')).toBe(true);
  });
});

describe('catastrophic patterns run in linear time', () => {
  for (const [p, subject, expected] of CATASTROPHIC) {
    // Correctness, not timing: a backtracking engine would not return at all on these subjects.
    it(`${p} on ${subject.length} chars`, () => expect(compilePromRegex(p).test(subject)).toBe(expected));
  }
});

describe('fast paths agree with the regex engine', () => {
  const PATTERNS = [
    '.*', '.+', 'foo', 'foo|bar|baz', '(foo|bar)', '(?:foo|bar)', 'foo.*', 'foo.+', '.*foo', '.+foo', '.*foo.*', '.+foo.+',
    '.+foo.*', '.*foo.+', 'a\\.b', 'a\\.b.*|c', '|a', 'a|', '', '.*.*', '.+.+', '.*.+', '.+.*', 'x-\\|y', 'é.*', '.*\n',
  ];
  const VALUES = ['', 'foo', 'bar', 'baz', 'foox', 'xfoo', 'xfoox', 'fo', 'a.b', 'axb', 'a.bzz', 'c', 'a', 'x', 'xx', 'x-|y', 'é', 'éa', 'a\n', '\n', 'foo\nbar'];
  for (const p of PATTERNS) {
    it(JSON.stringify(p), () => {
      const re = compilePromRegex(p);
      const reference = RE2JS.compile(`^(?s:${p})$`);
      for (const v of VALUES) expect([v, re.test(v)]).toEqual([v, reference.test(v)]);
      const neg = valueMatcher(re, true);
      for (const v of VALUES) expect(neg(v)).toBe(!reference.test(v));
    });
  }

  it('caches answers per label value without changing them', () => {
    const m = valueMatcher(compilePromRegex('(?i)a[0-9]+'), false);
    for (let round = 0; round < 3; round++) {
      expect(m('A12')).toBe(true);
      expect(m('b12')).toBe(false);
    }
  });

  it('compiles a pattern once and reuses it', () => {
    expect(compilePromRegex('(?i)job-[0-9]+')).toBe(compilePromRegex('(?i)job-[0-9]+'));
  });
});

describe('regexes over the HTTP API', () => {
  let dir: string;
  let db: Tsdb;
  const T0 = 1_700_000_000_000;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ampule-query-regex-'));
    const cipher = createCipher(randomBytes(32));
    db = openTsdb({ path: join(dir, 'ws.db'), workspaceId: 'ws-regex', keys: { current: 1, get: () => cipher } });
    const app = db.appender();
    // A long label value: what makes a backtracking pattern take forever.
    app.append(0, labelsFromRecord({ __name__: 'up', job: `${'a'.repeat(20_000)}!` }), T0, 1);
    app.append(0, labelsFromRecord({ __name__: 'up', job: 'Node-Exporter' }), T0, 2);
    app.commit();
  });

  afterAll(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = (path: string, params: Record<string, string>) =>
    handlePromApi(path, new URLSearchParams(params), db.querier(), { now: () => T0 + 1000 });
  const result = (r: { body: object }) => (r.body as { data: { result: { metric: Record<string, string> }[] } }).data.result;

  it('answers a nested quantifier over a 20,000-char value', async () => {
    const r = await api('query', { query: 'up{job=~"(a+)+!"}' });
    expect(r.status).toBe(200);
    expect(result(r)).toHaveLength(1);
    const none = await api('query', { query: 'up{job=~"(a|aa)*b"}' });
    expect(none.status).toBe(200);
    expect(result(none)).toHaveLength(0);
  });

  it('takes Go-only syntax in selectors, match[] and label_replace', async () => {
    const r = await api('query', { query: 'up{job=~"(?i)node-exporter"}' });
    expect(result(r).map((x) => x.metric['job'])).toEqual(['Node-Exporter']);
    const series = await api('series', { 'match[]': 'up{job!~"(?i)NODE.*"}' });
    expect(series.status).toBe(200);
    expect((series.body as { data: unknown[] }).data).toHaveLength(1);
    const lr = await api('query', { query: 'label_replace(up, "kind", "${k}", "job", "(?i)(?P<k>node)-.*")' });
    expect(lr.status).toBe(200);
    expect(result(lr).find((x) => x.metric['job'] === 'Node-Exporter')!.metric['kind']).toBe('Node');
  });

  it('answers bad_data with Go\'s error text for an invalid pattern', async () => {
    const r = await api('query', { query: 'up{job=~"(a)\\\\1"}' });
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ status: 'error', errorType: 'bad_data' });
    expect((r.body as { error: string }).error).toMatch(/invalid regular expression.*error parsing regexp: invalid escape sequence/);
    const series = await api('series', { 'match[]': 'up{job=~"(?=x)"}' });
    expect(series.status).toBe(400);
    expect(series.body).toMatchObject({ errorType: 'bad_data' });
  });

  it('answers label_replace with an invalid pattern as Prometheus does (execution error)', async () => {
    const r = await api('query', { query: 'label_replace(up, "x", "$1", "job", "(a")' });
    expect(r.status).toBe(422);
    expect((r.body as { error: string }).error).toBe('invalid regular expression in label_replace(): (a');
  });
});
