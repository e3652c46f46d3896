// Label sets are told apart by key in the store, in aggregation groups and in vector matching; a
// key whose separators were the letters ÿ and þ gave {a="1ÿbþ2"} and {a="1", b="2"} one key.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { createCipher } from '../../../main/crypto/cipher';
import { handlePromApi } from '../../../main/query/api';
import { openTsdb } from '../../../main/tsdb';
import { labelsFromRecord } from '../../../shared/labels';

const T0 = 1_700_000_000_000;

describe('label keys', () => {
  it('keep label sets apart whose values hold ÿ and þ: in the store, in groups and in matching', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ampule-label-keys-'));
    const cipher = createCipher(randomBytes(32));
    const db = openTsdb({ path: join(dir, 'ws.db'), workspaceId: 'ws-keys', keys: { current: 1, get: () => cipher } });
    try {
      const app = db.appender();
      app.append(0, labelsFromRecord({ __name__: 'x', a: '1ÿbþ2' }), T0, 1);
      app.append(0, labelsFromRecord({ __name__: 'x', a: '1', b: '2' }), T0, 10);
      app.commit();
      const query = async (q: string) => {
        const r = await handlePromApi('query', new URLSearchParams({ query: q, time: String(T0 / 1000) }), db.querier());
        const body = r.body as { status: string; error?: string; data?: { result: { metric: Record<string, string>; value: [number, string] }[] } };
        if (body.status !== 'success') return body.error;
        return body.data!.result.map((s) => [JSON.stringify(s.metric), s.value[1]]).sort();
      };
      expect(await query('x')).toEqual([['{"__name__":"x","a":"1","b":"2"}', '10'], ['{"__name__":"x","a":"1ÿbþ2"}', '1']]);
      expect(await query('count by (a, b) (x)')).toEqual([['{"a":"1","b":"2"}', '1'], ['{"a":"1ÿbþ2"}', '1']]);
      expect(await query('x + on (a, b) x')).toEqual([['{"a":"1","b":"2"}', '20'], ['{"a":"1ÿbþ2"}', '2']]);
    } finally {
      db.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
