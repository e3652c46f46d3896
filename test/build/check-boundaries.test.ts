// The layer lint must catch each kind of crossing, and pass on the real tree.
import { describe, expect, it } from 'vitest';
import { mkdtempSync, mkdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error plain .mjs build script without type declarations
import { violations } from '../../build/check-boundaries.mjs';

function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'ampule-lint-'));
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), text);
  }
  return dir;
}

describe('layer boundaries', () => {
  it('passes on the repository itself', () => {
    expect(violations()).toEqual([]);
  });

  it('finds renderer → main, main → renderer, shared → node/electron/main', () => {
    const dir = tree({
      'renderer/a.ts': "import { x } from '../main/core/x';\nimport fs from 'node:fs';",
      'main/b.ts': "import { y } from '../renderer/y';",
      'shared/c.ts': "import { z } from '../main/z';\nimport { app } from 'electron';\nconst p = import('node:path');",
      'shared/ok.ts': "import { labelsKey } from './labels';",
    });
    try {
      const found: string[] = violations(dir);
      expect(found.some((l) => l.startsWith('renderer/a.ts') && l.includes('../main/core/x'))).toBe(true);
      expect(found.some((l) => l.startsWith('renderer/a.ts') && l.includes('node:fs'))).toBe(true);
      expect(found.some((l) => l.startsWith('main/b.ts'))).toBe(true);
      expect(found.filter((l) => l.startsWith('shared/c.ts'))).toHaveLength(3);
      expect(found.some((l) => l.startsWith('shared/ok.ts'))).toBe(false);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
