// The layer lint must catch each kind of crossing, and pass on the real tree.
import { describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, mkdirSync, readdirSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
// @ts-expect-error plain .mjs build script without type declarations
import { MAIN_LAYERS, violations } from '../../build/check-boundaries.mjs';

/** Lints a temporary tree of these files (removed afterwards) and hands `check` what it found. */
function lintTree(files: Record<string, string>, check: (found: string[], dir: string) => void): void {
  const dir = mkdtempSync(join(tmpdir(), 'ampule-lint-'));
  try {
    for (const [path, text] of Object.entries(files)) {
      mkdirSync(join(dir, path, '..'), { recursive: true });
      writeFileSync(join(dir, path), text);
    }
    check(violations(dir), dir);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

describe('layer boundaries', () => {
  it('passes on the repository itself', () => {
    expect(violations()).toEqual([]);
  });

  it('finds renderer → main, main → renderer, shared → node/electron/main', () => {
    lintTree({
      'renderer/a.ts': "import { x } from '../main/core/x';\nimport fs from 'node:fs';",
      'main/b.ts': "import { y } from '../renderer/y';",
      'shared/c.ts': "import { z } from '../main/z';\nimport { app } from 'electron';\nconst p = import('node:path');",
      'shared/ok.ts': "import { labelsKey } from './labels';",
    }, (found) => {
      expect(found.some((l) => l.startsWith('renderer/a.ts') && l.includes('../main/core/x'))).toBe(true);
      expect(found.some((l) => l.startsWith('renderer/a.ts') && l.includes('node:fs'))).toBe(true);
      expect(found.some((l) => l.startsWith('main/b.ts'))).toBe(true);
      expect(found.filter((l) => l.startsWith('shared/c.ts'))).toHaveLength(3);
      expect(found.some((l) => l.startsWith('shared/ok.ts'))).toBe(false);
    });
  });

  it("fails a main/ folder importing one above it (a cycle), type-only imports included, and a folder missing from the order", () => {
    lintTree({
      'main/core/appliance.ts': "import type { Host } from '../host/host';\nexport const a = 1;",
      'main/ingest/x.ts': "import { b } from '../http/server';",
      'main/http/server.ts': "import { a } from '../core/appliance';\nimport { t } from '../tsdb/types';\nexport const b = a;",
      'main/core/same.ts': "import { a } from './appliance';\nimport { s } from '../../shared/labels';",
      'main/gadgets/g.ts': "import { a } from '../core/appliance';",
    }, (found, dir) => {
      expect(found.filter((l) => l.startsWith('main/core/appliance.ts'))).toEqual([
        expect.stringContaining('main/core/ may import only folders below it'),
      ]);
      expect(found.some((l) => l.startsWith('main/ingest/x.ts') && l.includes('not main/http/'))).toBe(true);
      expect(found.some((l) => l.startsWith('main/http/server.ts'))).toBe(false);
      expect(found.some((l) => l.startsWith('main/core/same.ts'))).toBe(false);
      expect(found.some((l) => l.startsWith('main/gadgets/g.ts') && l.includes('main/gadgets/ is not in MAIN_LAYERS'))).toBe(true);
      expect(found).toHaveLength(3);
      // `npm run lint` runs the script: it exits non-zero, naming the crossing.
      const run = spawnSync(process.execPath, [join(import.meta.dirname, '../../build/check-boundaries.mjs'), dir], { encoding: 'utf8' });
      expect(run.status).toBe(1);
      expect(run.stderr).toContain('main/core/appliance.ts');
      expect(run.stderr).toContain('lint: 3 boundary violation(s)');
    });
  });

  it('fails files of one main/ folder that import each other in a loop (type-only imports and .js specifiers included), in every folder, main/query/ too', () => {
    lintTree({
      'main/tsdb/head.ts': "import type { H } from './head-histograms';\nexport class MemSeries {}",
      'main/tsdb/head-histograms.ts': "import type { MemSeries } from './head.js';\nexport class H {}",
      'main/tsdb/a.ts': "import { b } from './b';\nexport const a = 1;",
      'main/tsdb/b.ts': "import { c } from './c/index';\nexport const b = 2;",
      'main/tsdb/c/index.ts': "import { a } from '../a';\nexport const c = 3;",
      'main/tsdb/leaf.ts': "import { a } from './a';",
      'main/query/engine.ts': "import { aggregate } from './aggregate';\nexport class Evaluator {}",
      'main/query/aggregate.ts': "import type { Evaluator } from './engine';\nexport const aggregate = 1;",
    }, (found) => {
      const loop = 'files of main/ may not import each other in a loop (move what both need to a file of its own)';
      expect([...found].sort()).toEqual([
        `main/query/aggregate.ts: imports itself through main/query/engine.ts: ${loop}`,
        `main/tsdb/a.ts: imports itself through main/tsdb/b.ts, main/tsdb/c/index.ts: ${loop}`,
        `main/tsdb/head-histograms.ts: imports itself through main/tsdb/head.ts: ${loop}`,
      ]);
    });
  });

  it("orders every folder main/ has", () => {
    const folders = readdirSync(join(import.meta.dirname, '../../main'), { withFileTypes: true }).filter((d) => d.isDirectory()).map((d) => d.name);
    expect(folders.filter((f) => !MAIN_LAYERS.includes(f))).toEqual([]);
  });
});
