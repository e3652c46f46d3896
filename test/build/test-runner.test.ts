// `npm test` (build/test.mjs) refuses to run without the Debian packages the server tests need,
// naming the apt-get line, instead of going green with those tests skipped.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const ROOT = join(import.meta.dirname, '..', '..');
const bin = mkdtempSync(join(tmpdir(), 'ampule-path-'));
afterAll(() => rmSync(bin, { recursive: true, force: true }));

describe('npm test without the packages', () => {
  it('fails before running anything and says what to install', () => {
    symlinkSync(process.execPath, join(bin, 'node')); // a PATH with node and nothing else
    const r = spawnSync(process.execPath, [join(ROOT, 'build', 'test.mjs')], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, PATH: bin, AMPULE_TEST_UNIT_ONLY: '' } });
    expect(r.status).toBe(1);
    expect(r.stderr).toMatch(/apt-get install -y dbus gnome-keyring libglib2\.0-bin prometheus prometheus-alertmanager victoria-metrics perl openssl/);
    expect(r.stderr).not.toMatch(/layer lint/);
  });
});
