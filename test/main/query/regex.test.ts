// The backtracking guard: patterns that would hang JavaScript's regex engine (but not Go's RE2)
// are refused with bad_data before any matching, and everyday Grafana patterns still compile.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createCipher } from '../../../main/crypto/cipher';
import { handlePromApi } from '../../../main/query/api';
import { UnsafeRegexError, compilePromRegex } from '../../../main/query/regex';
import { openTsdb, type Tsdb } from '../../../main/tsdb';
import { labelsFromRecord } from '../../../shared/labels';

const HOSTILE = [
  '(a+)+', '(a*)*b', '(?:a|ab)*c', '(a|)*', '(x+x+)+y', '(.*a){12}', '([a-z]+)*$', '(\\w|\\d)+x',
  '.*.*.*.*.*x', '(a|a)+', '((ab)*)+', '(?=a)a', '(?!b)a', '(a)\\1', '(?i)(a|A)+',
];
const ORDINARY = [
  '.*', '.+', 'api-.+', '.*foo.*', '.*foo.*bar.*', 'job[1-3]', '(foo|bar)', '(foo|bar)+', '(GET|POST|PUT)',
  '(\\d{1,3}\\.){3}\\d{1,3}', 'data(_histogram|_sparse|_empty)?', '(?i)prod.*', '.*(?i:TION).*?', '[^/]+/[^/]+',
  'host-[0-9]+', '(a|b|c)*', 'request_duration_seconds\\d*_bucket', 'eu-(west|east)-[0-9]',
];

describe('regex backtracking guard', () => {
  for (const p of HOSTILE) {
    it(`refuses ${p}`, () => expect(() => compilePromRegex(p)).toThrow(UnsafeRegexError));
  }
  for (const p of ORDINARY) {
    it(`accepts ${p}`, () => expect(compilePromRegex(p)).toBeInstanceOf(RegExp));
  }

  it('tells the user what to change', () => {
    expect(() => compilePromRegex('(a+)+')).toThrow(/nested quantifiers.*rewrite it/);
  });
});

describe('hostile patterns over the HTTP API', () => {
  let dir: string;
  let db: Tsdb;
  const T0 = 1_700_000_000_000;

  beforeAll(() => {
    dir = mkdtempSync(join(tmpdir(), 'ampule-query-regex-'));
    const cipher = createCipher(randomBytes(32));
    db = openTsdb({ path: join(dir, 'ws.db'), workspaceId: 'ws-regex', keys: { current: 1, get: () => cipher } });
    const app = db.appender();
    // A long label value: what makes a backtracking pattern take forever.
    app.append(0, labelsFromRecord({ __name__: 'up', job: `${'a'.repeat(64)}!` }), T0, 1);
    app.commit();
  });

  afterAll(() => {
    db.close();
    rmSync(dir, { recursive: true, force: true });
  });

  const api = (path: string, params: Record<string, string>) =>
    handlePromApi(path, new URLSearchParams(params), db.querier(), { now: () => T0 + 1000 });

  it('answers bad_data for a nested quantifier in a selector, quickly', async () => {
    const t = Date.now();
    const r = await api('query', { query: 'up{job=~"(a+)+"}' });
    expect(Date.now() - t).toBeLessThan(5000);
    expect(r.status).toBe(400);
    expect(r.body).toMatchObject({ status: 'error', errorType: 'bad_data' });
    expect((r.body as { error: string }).error).toMatch(/invalid regular expression.*nested quantifiers/);
  });

  it('answers bad_data in match[] of /series and in label_replace', async () => {
    const series = await api('series', { 'match[]': 'up{job!~"(a|aa)*"}' });
    expect(series.status).toBe(400);
    expect(series.body).toMatchObject({ errorType: 'bad_data' });
    const lr = await api('query', { query: 'label_replace(up, "x", "$1", "job", "(a*)*")' });
    expect(lr.status).toBe(400);
    expect(lr.body).toMatchObject({ errorType: 'bad_data' });
  });

  it('still matches ordinary patterns', async () => {
    const r = await api('query', { query: 'up{job=~"a+!"}' });
    expect(r.status).toBe(200);
    expect((r.body as { data: { result: unknown[] } }).data.result).toHaveLength(1);
  });
});
