// Test helpers: a control database in a temp dir with an unlocked random master key, and a
// scanner that looks for a string in every file of a directory (UTF-8 and UTF-16).
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ControlDatabase, type ControlOptions } from '../../../main/control/control-plane';
import { masterKey, newKey } from '../../../main/crypto/master-key';
import type { ActivityEvent } from '../../../main/control/types';

export interface TestControl {
  readonly dir: string;
  readonly control: ControlDatabase;
  readonly events: ActivityEvent[];
  readonly removed: string[];
  clock: number;
  cleanup(): void;
}

export function testControl(opts: Partial<ControlOptions> = {}): TestControl {
  const dir = mkdtempSync(join(tmpdir(), 'ampule-control-'));
  const events: ActivityEvent[] = [];
  const removed: string[] = [];
  const t: TestControl = {
    dir,
    events,
    removed,
    clock: Date.parse('2026-01-01T00:00:00Z'),
    control: undefined as unknown as ControlDatabase,
    cleanup() {
      try {
        t.control.close();
      } catch {
        /* already closed */
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
  const control = ControlDatabase.open(join(dir, 'control.db'), {
    activity: { record: (e) => events.push(e) },
    removeWorkspaceData: (id) => removed.push(id),
    now: () => t.clock,
    ...opts,
  });
  const key = masterKey(newKey());
  control.keys.setKeyCheck(key.check);
  control.keys.useMasterKey(key);
  (t as { control: ControlDatabase }).control = control;
  return t;
}

/** Every file under `dir` whose bytes contain `needle` as UTF-8, UTF-16LE or UTF-16BE. */
export function filesContaining(dir: string, needle: string | Buffer): string[] {
  const forms =
    typeof needle === 'string'
      ? [Buffer.from(needle, 'utf8'), Buffer.from(needle, 'utf16le'), Buffer.from(needle, 'utf16le').swap16()]
      : [needle];
  const hits: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else {
        const bytes = readFileSync(p);
        if (forms.some((f) => bytes.includes(f))) hits.push(p);
      }
    }
  };
  walk(dir);
  return hits;
}
