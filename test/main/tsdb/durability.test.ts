// A committed append survives kill -9 (of a real child process), including during compactions.
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { openTsdb } from '../../../main/tsdb/index';
import { tempDir, TestKeys, type TempDir } from './helpers';

const CHILD = fileURLToPath(new URL('./fixtures/append-child.ts', import.meta.url));
let dir: TempDir | undefined;
afterEach(() => dir?.remove());

/** Runs the child until it has committed at least `atLeast` samples, kills it with SIGKILL, returns the last count it printed. */
function appendThenKill(path: string, key: Buffer, atLeast: number): Promise<number> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', CHILD, path, key.toString('hex')], { stdio: ['ignore', 'pipe', 'pipe'] });
    let last = 0;
    let buf = '';
    let err = '';
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.stdout.on('data', (d: Buffer) => {
      buf += d.toString();
      const lines = buf.split('\n');
      buf = lines.pop()!;
      for (const l of lines) last = Number(l.split(' ')[1]);
      if (last >= atLeast && !child.killed) child.kill('SIGKILL');
    });
    child.on('exit', (code, signal) => {
      if (signal === 'SIGKILL') resolve(last);
      else reject(new Error(`child exited with ${code}: ${err}`));
    });
  });
}

describe('tsdb durability', () => {
  it('keeps every committed sample after kill -9, twice in a row', async () => {
    dir = tempDir();
    const key = randomBytes(32);
    const path = dir.file('ws.db');
    let committed = 0;
    for (const target of [3000, 9000]) {
      committed = await appendThenKill(path, key, target);
      expect(committed).toBeGreaterThanOrEqual(target);
      const db = openTsdb({ path, workspaceId: 'ws-crash', keys: new TestKeys({ 1: key }) });
      try {
        const series = db.querier().select([{ type: '=', name: '__name__', value: 'crash_test' }], -Infinity, Infinity);
        const seen = new Map<number, number>();
        for (const s of series) for (let i = 0; i < s.values.length; i++) seen.set(s.values[i]!, s.timestamps[i]!);
        for (let i = 0; i < committed; i++) expect(seen.get(i), `sample ${i}`).toBe(1_700_000_000_000 + Math.floor(i / 10) * 1000);
      } finally {
        db.close();
      }
    }
  }, 120_000);
});
