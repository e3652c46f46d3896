// electronegativity over the Electron shell: nothing above LOW severity; and the scan is not
// vacuous — a copy of the sources with a weakened window is caught.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

interface Finding { id: string; severity: string; file: string; line: number }
const ROOT = join(import.meta.dirname, '..', '..');
const { electronegativity, SOURCES } = (await import(join(ROOT, 'build', 'electronegativity.mjs'))) as {
  electronegativity(root?: string): Promise<{ files: number; errors: unknown[]; findings: Finding[] }>;
  SOURCES: string[];
};

const copy = mkdtempSync(join(tmpdir(), 'ampule-eng-src-'));
afterAll(() => rmSync(copy, { recursive: true, force: true }));

describe('electronegativity', () => {
  it('finds nothing above LOW in the shell', async () => {
    const { files, errors, findings } = await electronegativity();
    expect(files).toBeGreaterThan(5);
    expect(errors).toEqual([]);
    expect(findings.filter((f) => f.severity === 'HIGH' || f.severity === 'MEDIUM')).toEqual([]);
  });

  it('catches a window with sandbox and context isolation turned off', async () => {
    for (const s of SOURCES) {
      mkdirSync(join(copy, s, '..'), { recursive: true });
      cpSync(join(ROOT, s), join(copy, s), { recursive: true });
    }
    const security = join(copy, 'main/app/security.ts');
    writeFileSync(security, readFileSync(security, 'utf8').replace('contextIsolation: true', 'contextIsolation: false').replace('sandbox: true', 'sandbox: false'));
    const ids = (await electronegativity(copy)).findings.map((f) => f.id);
    expect(ids).toContain('CONTEXT_ISOLATION_JS_CHECK');
    expect(ids).toContain('SANDBOX_JS_CHECK');
  });
});
