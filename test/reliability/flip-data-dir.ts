// A data directory to damage: two workspaces (one shaped like issue 14's: thousands of series whose
// labels arrived in waves, so several series pages, chunk rows over several buckets, and log records
// still in the SQLite write-ahead log), snapshotted while open, as kill -9 leaves it. Then: flip one
// bit in a copy, open the copy, and compare what it answers with the undamaged answers.
import Database from 'better-sqlite3';
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, relative } from 'node:path';
import { openAppliance, workspaceDir } from '../../main/core/open-appliance';
import { controlDatabase } from '../../main/retention/key-lifecycle';
import { openTsdb, type Tsdb } from '../../main/tsdb';
import { labelsFromRecord } from '../../shared/labels';
import { controlAnswer, isNamed, keyFileDir, workspaceAnswer, type WorkspaceAnswer } from './harness';

export interface Shape {
  readonly series: number;
  /** Series arrive in this many waves, each followed by a compaction (a new series page each). */
  readonly waves: number;
  /** Samples per series per wave, 60 s apart. */
  readonly samplesPerWave: number;
}

export interface FlipBase {
  /** Folder holding `data/` and `master.key`; copied for every flip. */
  readonly dir: string;
  readonly workspaces: readonly string[];
  readonly tokens: readonly string[];
  readonly control: string;
  readonly answers: ReadonlyMap<string, WorkspaceAnswer>;
  remove(): void;
}

const MINUTE = 60_000;

function fill(db: Tsdb, shape: Shape, start: number): void {
  for (let w = 0; w < shape.waves; w++) {
    const live = Math.round(((w + 1) * shape.series) / shape.waves);
    const t0 = start + w * shape.samplesPerWave * MINUTE;
    const app = db.appender();
    for (let i = 0; i < shape.samplesPerWave; i++) {
      for (let s = 0; s < live; s++) {
        const labels = labelsFromRecord({ __name__: 'qm_requests_total', instance: `host-${s % 97}`, job: `job-${s % 7}`, series: String(s) });
        app.append(0, labels, t0 + i * MINUTE, s * 1000 + w * shape.samplesPerWave + i + (s % 3 ? 0.5 : 0));
      }
      if (i % 30 === 29) app.commit();
    }
    app.commit();
    db.compact();
  }
  // A few commits after the last compaction: log records in the write-ahead log.
  const t = start + shape.waves * shape.samplesPerWave * MINUTE;
  for (let k = 0; k < 3; k++) {
    const app = db.appender();
    for (let s = 0; s < shape.series; s += 7) app.append(0, labelsFromRecord({ __name__: 'qm_requests_total', instance: `host-${s % 97}`, job: `job-${s % 7}`, series: String(s) }), t + k * MINUTE, k);
    app.commit();
  }
}

/** `crash`: copied while open (write-ahead logs hold the newest commits, as kill -9 leaves them); `clean`: after closing (all in the main files). */
export async function buildFlipBase(shapes: readonly Shape[], snapshot: 'crash' | 'clean' = 'crash'): Promise<FlipBase> {
  const made = keyFileDir('ampule-flip-src-');
  const app = await openAppliance({ dataDir: made.dataDir, masterKeyFile: made.keyFile, maintenanceIntervalMs: 3600_000 });
  const workspaces: string[] = [];
  const tokens: string[] = [];
  const dbs: Tsdb[] = [];
  const start = Math.floor((Date.now() - 3 * 86_400_000) / 7200_000) * 7200_000;
  try {
    for (const [i, shape] of shapes.entries()) {
      const id = app.control.createWorkspace({ alias: `flip-${i}`, tags: { team: `team-${i}` } }).workspaceId;
      workspaces.push(id);
      tokens.push(app.control.createToken(id, { scopes: ['remote_write', 'query'] }).token);
      app.store(id);
      app.closeStore(id);
      // Compaction runs on the appliance's timer; here it runs on the store directly.
      const db = openTsdb({ path: join(workspaceDir(made.dataDir, id), 'tsdb.db'), workspaceId: id, keys: controlDatabase(app).dataKeys(id) });
      dbs.push(db);
      fill(db, shape, start);
    }
    // The snapshot is taken with everything open: write-ahead logs included, as after kill -9.
    const dir = mkdtempSync(join(tmpdir(), 'ampule-flip-base-'));
    if (snapshot === 'crash') cpSync(made.dir, dir, { recursive: true });
    for (const db of dbs.splice(0)) db.close();
    app.close();
    if (snapshot === 'clean') cpSync(made.dir, dir, { recursive: true });
    rmSync(made.dir, { recursive: true, force: true });
    const check = await openCopy(dir);
    try {
      const answers = new Map(workspaces.map((w) => [w, workspaceAnswer(check.app!, w)] as const));
      for (const [w, a] of answers) if ('error' in a) throw new Error(`the undamaged copy fails for ${w}: ${String(a.error)}`);
      return { dir, workspaces, tokens, control: controlAnswer(check.app!, tokens).text, answers, remove: () => rmSync(dir, { recursive: true, force: true }) };
    } finally {
      check.done();
    }
  } finally {
    for (const db of dbs) db.close();
  }
}

/** A fresh copy of the base opened as the appliance (or the error opening it). */
async function openCopy(base: string): Promise<{ app?: Awaited<ReturnType<typeof openAppliance>>; error?: unknown; dir: string; done(): void }> {
  const dir = mkdtempSync(join(tmpdir(), 'ampule-flip-'));
  cpSync(base, dir, { recursive: true });
  const done = (app?: { close(): void }) => () => {
    app?.close();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    const app = await openAppliance({ dataDir: join(dir, 'data'), masterKeyFile: join(dir, 'master.key'), maintenanceIntervalMs: 3600_000 });
    return { app, dir, done: done(app) };
  } catch (error) {
    return { error, dir, done: done() };
  }
}

/** Every file of the base, relative to it (data/control.db, data/workspaces/…/tsdb.db, -wal, tls/…, master.key). */
export function filesOf(base: FlipBase): string[] {
  const out: string[] = [];
  const walk = (d: string) => {
    for (const name of readdirSync(d)) {
      const p = join(d, name);
      if (statSync(p).isDirectory()) walk(p);
      else out.push(relative(base.dir, p));
    }
  };
  walk(base.dir);
  return out.sort();
}

export interface Flip {
  readonly file: string;
  readonly offset: number;
  readonly mask: number;
  /** Why this byte (random, a table's row…), for the report. */
  readonly what: string;
}

export type Outcome = 'identical' | 'named error' | 'unnamed error' | 'silent difference';

export interface FlipResult {
  readonly outcome: Outcome;
  readonly detail: string;
}

/** Opens a copy of the base with one bit flipped and compares every answer with the undamaged ones. */
export async function tryFlip(base: FlipBase, flip: Flip, keep?: (dir: string) => Promise<void>): Promise<FlipResult> {
  const dir = mkdtempSync(join(tmpdir(), 'ampule-flip-'));
  try {
    cpSync(base.dir, dir, { recursive: true });
    const path = join(dir, flip.file);
    const bytes = readFileSync(path);
    if (flip.offset >= bytes.length) return { outcome: 'identical', detail: 'offset beyond the end of the file' };
    bytes[flip.offset]! ^= flip.mask;
    writeFileSync(path, bytes);
    if (keep) await keep(dir);
    let app;
    try {
      app = await openAppliance({ dataDir: join(dir, 'data'), masterKeyFile: join(dir, 'master.key'), maintenanceIntervalMs: 3600_000 });
    } catch (e) {
      // An unnamed error says where it came from, so it can be given a name.
      const named = isNamed(e);
      const where = named ? '' : ` (at ${((e as Error).stack ?? '').split('\n').filter((l) => l.includes('/main/')).slice(0, 3).map((l) => l.trim().replace(/^at /, '').replace(/\(.*\/main\//, '(main/')).join(' < ')})`;
      return { outcome: named ? 'named error' : 'unnamed error', detail: `opening: ${(e as Error).message}${where}` };
    }
    try {
      const errors: string[] = [];
      let unnamed = false;
      let control: ReturnType<typeof controlAnswer>;
      try {
        control = controlAnswer(app, base.tokens);
      } catch (e) {
        return { outcome: isNamed(e) ? 'named error' : 'unnamed error', detail: `control: ${(e as Error).message}` };
      }
      errors.push(...control.named);
      const diffs: string[] = [];
      if (control.text !== base.control && control.named.length === 0) diffs.push(`control plane answers differ: ${firstDifference(base.control, control.text)}`);
      for (const ws of base.workspaces) {
        const a = workspaceAnswer(app, ws);
        if ('error' in a) {
          if (isNamed(a.error, ws)) errors.push((a.error as Error).message);
          else ((unnamed = true), errors.push(`${ws}: ${String(a.error)}`));
          continue;
        }
        const want = base.answers.get(ws)!;
        if ('digest' in want && a.digest !== want.digest) diffs.push(`${ws}: ${a.series} series / ${a.samples} samples, undamaged ${want.series} / ${want.samples}`);
      }
      if (diffs.length) return { outcome: 'silent difference', detail: diffs.join('; ') };
      if (unnamed) return { outcome: 'unnamed error', detail: errors.join('; ') };
      return errors.length ? { outcome: 'named error', detail: errors.join('; ') } : { outcome: 'identical', detail: '' };
    } finally {
      app.close();
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Where each row of each table of a store starts in its files (newest copy: the write-ahead log first). */
export function rowOffsets(base: FlipBase, workspaceId: string): { table: string; file: string; offset: number; length: number }[] {
  const rel = relative(base.dir, join(workspaceDir(join(base.dir, 'data'), workspaceId), 'tsdb.db'));
  const scratch = mkdtempSync(join(tmpdir(), 'ampule-flip-rows-'));
  const out: { table: string; file: string; offset: number; length: number }[] = [];
  try {
    cpSync(base.dir, scratch, { recursive: true });
    const db = new Database(join(scratch, rel), { readonly: true });
    const files = [`${rel}-wal`, rel].map((f) => {
      try {
        return { f, bytes: readFileSync(join(base.dir, f)) };
      } catch {
        return { f, bytes: Buffer.alloc(0) };
      }
    });
    for (const table of ['series_pages', 'log', 'head_state', 'head_parts', 'chunks', 'manifest']) {
      for (const { data } of db.prepare(`SELECT data FROM ${table}`).all() as { data: Buffer }[]) {
        const probe = data.subarray(0, 24);
        for (const { f, bytes } of files) {
          const at = bytes.lastIndexOf(probe);
          if (at >= 0) {
            out.push({ table, file: f, offset: at, length: data.length });
            break;
          }
        }
      }
    }
    db.close();
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
  return out;
}

/** Where two JSON answers first part: the changed value with a little context either side. */
function firstDifference(before: string, after: string): string {
  let i = 0;
  while (i < before.length && before[i] === after[i]) i++;
  const from = Math.max(0, before.lastIndexOf('"', Math.max(0, i - 40)));
  return `was …${before.slice(from, i + 40)}…, now …${after.slice(from, i + 40)}…`;
}
