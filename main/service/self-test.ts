// The on-demand "no plaintext on disk" self-test: reads every file under the data directory and
// looks for the customer strings this appliance holds (aliases, tag keys and values, label names
// and values). Any hit means customer data is stored in clear: the test fails and names the file.
// It also verifies every workspace's store end to end (main/tsdb verifyTsdb): damage fails it too.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { SelfTestProgress } from '../../shared/api';
import type { Appliance } from '../core/appliance';
import { workspaceDir } from '../core/open-appliance';
import { controlDatabase } from '../retention/key-lifecycle';
import { StoreError, verifyTsdb } from '../tsdb';

/** Shorter strings match by chance (in SQLite pages, random bytes); they say nothing. */
export const MIN_NEEDLE = 6;
const MAX_NEEDLES = 5000;
const MAX_SERIES_PER_WORKSPACE = 20_000;

/** `damage` collects the stores that cannot be opened (their strings cannot be known). */
export function customerStrings(appliance: Appliance, damage: string[] = []): string[] {
  const found = new Set<string>();
  const add = (s: string) => {
    if (s.length >= MIN_NEEDLE && found.size < MAX_NEEDLES) found.add(s);
  };
  for (const w of appliance.control.listWorkspaces()) {
    add(w.alias);
    for (const [k, v] of Object.entries(w.tags)) (add(k), add(v));
    let series;
    try {
      series = appliance.store(w.workspaceId).querier().series([{ type: '=~', name: '__name__', value: '^(?:.+)$' }], -8.64e15, 8.64e15);
    } catch (e) {
      if (!(e instanceof StoreError)) throw e;
      damage.push(e.message);
      continue;
    }
    for (const labels of series.slice(0, MAX_SERIES_PER_WORKSPACE)) for (const l of labels) (add(l.name), add(l.value));
  }
  return [...found];
}

/** Verifies one workspace's store file end to end; the damage message, or null when sound (or not made yet). */
function storeDamage(appliance: Appliance, workspaceId: string): string | null {
  const path = join(workspaceDir(appliance.dataDir, workspaceId), 'tsdb.db');
  if (!statSync(path, { throwIfNoEntry: false })) return null;
  try {
    verifyTsdb({ path, workspaceId, keys: controlDatabase(appliance).dataKeys(workspaceId) });
    return null;
  } catch (e) {
    if (e instanceof StoreError) return e.message;
    throw e;
  }
}

function listFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    const st = statSync(p, { throwIfNoEntry: false });
    if (!st) continue;
    if (st.isDirectory()) listFiles(p, out);
    else if (st.isFile()) out.push(p);
  }
  return out;
}

const IDLE: SelfTestProgress = { state: 'idle', filesScanned: 0, filesTotal: 0, bytesScanned: 0, findings: [], message: 'not run yet', finishedAt: null };

/** Runs the scan in slices (one file per turn of the event loop) so the appliance keeps serving. */
export class PlaintextSelfTest {
  private progress: SelfTestProgress = IDLE;
  private stopped = false;

  constructor(
    private readonly appliance: Appliance,
    private readonly record: (outcome: 'passed' | 'failed', detail: string) => void,
  ) {}

  current(): SelfTestProgress {
    return this.progress;
  }

  /** Abandons a running scan (the appliance is closing). */
  stop(): void {
    this.stopped = true;
  }

  start(): SelfTestProgress {
    if (this.progress.state === 'running' || this.stopped) return this.progress;
    const damage: string[] = [];
    const needles = customerStrings(this.appliance, damage).map((s) => Buffer.from(s, 'utf8'));
    const unopened = new Set(damage.map((d) => /^Workspace (\S+):/.exec(d)?.[1]));
    const toVerify = this.appliance.control.listWorkspaces().map((w) => w.workspaceId).filter((id) => !unopened.has(id));
    const files = listFiles(this.appliance.dataDir);
    const findings: string[] = [];
    let scanned = 0, bytes = 0;
    const update = (state: SelfTestProgress['state'], message: string) => {
      this.progress = { state, filesScanned: scanned, filesTotal: files.length, bytesScanned: bytes, findings: [...findings], damage: [...damage], message, finishedAt: state === 'running' ? null : new Date().toISOString() };
    };
    update('running', `checking ${files.length} files for ${needles.length} stored strings`);
    const step = () => {
      if (this.stopped) return;
      // One workspace store verified per turn, then one file scanned per turn.
      const ws = toVerify.shift();
      if (ws !== undefined) {
        const d = storeDamage(this.appliance, ws);
        if (d) damage.push(d);
        update('running', `verifying workspace stores (${toVerify.length} to go)`);
        setImmediate(step);
        return;
      }
      const file = files[scanned];
      if (file === undefined) {
        const ok = findings.length === 0 && damage.length === 0;
        const parts = [
          findings.length ? `stored strings found in clear in ${findings.length} file(s)` : `no stored string found in clear in ${files.length} files (${needles.length} strings checked)`,
          damage.length ? `${damage.length} workspace store(s) damaged: ${damage.join(' | ')}` : '',
        ];
        update(ok ? 'passed' : 'failed', parts.filter(Boolean).join('; '));
        this.record(ok ? 'passed' : 'failed', `${files.length} files, ${needles.length} strings, ${findings.length} with plaintext, ${damage.length} damaged store(s)`);
        return;
      }
      try {
        const data = readFileSync(file);
        bytes += data.length;
        if (needles.some((n) => data.includes(n))) findings.push(relative(this.appliance.dataDir, file));
      } catch {
        /* removed meanwhile (WAL checkpoint, temp file): nothing to check */
      }
      scanned++;
      update('running', `checking ${files.length} files for ${needles.length} stored strings`);
      setImmediate(step);
    };
    setImmediate(step);
    return this.progress;
  }
}
