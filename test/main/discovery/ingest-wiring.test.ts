// Ingest rules and incremental discovery inside the real remote-write ingestion path, on a real
// appliance: a hashed label never reaches the store in clear, a dropped label never reaches it at
// all, and new series feed the findings.
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { rmSync } from 'node:fs';
import { join } from 'node:path';
import { openAppliance } from '../../../main/core/open-appliance';
import { tempKeyFileDir } from '../core/key-file-dir';
import type { Appliance } from '../../../main/core/appliance';
import { encodeV1, snappy, V1_TYPE } from '../ingest/encode';

let dir: string;
let app: Appliance;
beforeEach(async () => {
  const made = tempKeyFileDir('ampule-ingest-rules-');
  dir = made.dir;
  app = await openAppliance({ dataDir: join(dir, 'data'), masterKeyFile: made.keyFile });
});
afterEach(() => {
  app.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('ingest rules in the remote-write path', () => {
  it('hashes and drops labels before storing, and reports new series to discovery', async () => {
    const ws = app.control.createWorkspace({ alias: 'rules' }).workspaceId;
    app.ingestRules.set(ws, { drop: ['session_id'], hash: ['user'] });
    const body = snappy(encodeV1([
      { labels: [['__name__', 'logins_total'], ['session_id', 'abc123'], ['user', 'alice@example.com']], samples: [{ t: Date.now(), v: 1 }] },
      { labels: [['__name__', 'logins_total'], ['phone', '+44 20 7946 0958'], ['user', 'bob@example.com']], samples: [{ t: Date.now(), v: 2 }] },
    ]));
    const store = app.store(ws);
    // The workspace's tenant applies its rules and feeds discovery itself.
    const result = await app.tenant(ws).ingest({ body, contentType: V1_TYPE, contentEncoding: 'snappy', version: undefined });
    expect(result.status).toBe(204);
    const series = store.querier().series([{ type: '=', name: '__name__', value: 'logins_total' }], 0, Date.now() + 1);
    const text = JSON.stringify(series);
    expect(text).not.toContain('alice');
    expect(text).not.toContain('session_id');
    expect(series.map((l) => l.map((x) => x.name))).toContainEqual(['__name__', 'user']);
    expect(series.every((l) => /^hmac:/.test(l.find((x) => x.name === 'user')!.value))).toBe(true);
    // Discovery saw the stored (rewritten) labels: the phone number, not the hashed e-mails.
    expect(app.discovery.findings(ws).map((f) => `${f.kind}:${f.labelName}`)).toEqual(['phone:phone']);
  });
});
