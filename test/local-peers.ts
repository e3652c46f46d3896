// What the tests that run real peers (Prometheus, Alertmanager, VictoriaMetrics) share: a free
// loopback port for them, the Prometheus binary and why its tests skip, and the files of a data
// directory to scan for plaintext.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { noKeychainReason } from './main/crypto/keychain-env';

export const PROMETHEUS = '/usr/bin/prometheus';
/** Why a test that needs the keychain and Debian's Prometheus cannot run here, or null. */
export const prometheusSkipReason = noKeychainReason ?? (existsSync(PROMETHEUS) ? null : `${PROMETHEUS} is missing: apt-get install prometheus`);

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export function* filesUnder(dir: string): Generator<string> {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (st?.isDirectory()) yield* filesUnder(p);
    else if (st?.isFile()) yield p;
  }
}
