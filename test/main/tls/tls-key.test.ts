// The TLS keys' sealing key lives in control.db wrapped by the master key: the CA survives a
// master-key rotation (re-wrapped in the same transaction), and another master key cannot open it.
import { afterAll, describe, expect, it } from 'vitest';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openAppliance } from '../../../main/core/open-appliance';
import { LocalCa } from '../../../main/tls/local-ca';
import { keychainSkipNote, noKeychainReason, removeService, uniqueService } from '../crypto/keychain-env';

describe.skipIf(noKeychainReason)(`TLS key sealing under the master key${keychainSkipNote}`, () => {
  const service = uniqueService();
  const dirs: string[] = [];
  afterAll(() => {
    removeService(service);
    dirs.forEach((d) => rmSync(d, { recursive: true, force: true }));
  });

  it('keeps the same CA and server certificate across a master-key rotation', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'ampule-tlskey-'));
    dirs.push(dataDir);
    const now = new Date();
    const a = await openAppliance({ dataDir, keychainService: service });
    const before = await new LocalCa(dataDir, a.tlsKeys).serverIdentity(now);
    a.rotateMasterKey({ actor: 'test' });
    a.close();
    const b = await openAppliance({ dataDir, keychainService: service });
    try {
      const after = await new LocalCa(dataDir, b.tlsKeys).serverIdentity(now);
      expect(after.caFingerprint).toBe(before.caFingerprint);
      expect(after.keyPem).toBe(before.keyPem);
    } finally {
      b.close();
    }
  });

  it('cannot open the TLS keys of another data directory', async () => {
    const d1 = mkdtempSync(join(tmpdir(), 'ampule-tlskey-'));
    const d2 = mkdtempSync(join(tmpdir(), 'ampule-tlskey-'));
    dirs.push(d1, d2);
    const a = await openAppliance({ dataDir: d1, keychainService: service });
    const b = await openAppliance({ dataDir: d2, keychainService: service });
    try {
      await new LocalCa(d1, a.tlsKeys).serverIdentity(new Date());
      await expect(new LocalCa(d1, b.tlsKeys).serverIdentity(new Date())).rejects.toThrow(/cannot decrypt/);
    } finally {
      a.close();
      b.close();
    }
  });
});
