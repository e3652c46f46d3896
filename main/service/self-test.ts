// The on-demand "no plaintext on disk" self-test: reads every file under the data directory and
// looks for the customer strings this appliance holds (aliases, tag keys and values, label names
// and values). Any hit means customer data is stored in clear: the test fails and names the file.
// It also verifies every workspace's store end to end (main/tsdb verifyTsdb): damage fails it too.
// The reading runs on a thread of its own (./self-test-worker.ts): remote write never waits for it.
import { readdirSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import type { Worker } from 'node:worker_threads';
import type { SelfTestProgress } from '../../shared/api';
import type { Appliance } from '../core/appliance';
import { workspaceDir } from '../core/open-appliance';
import { cipherKey } from '../crypto/cipher';
import { controlDatabase } from '../retention/key-lifecycle';
import { StoreError } from '../tsdb';
import { FileScan, MIN_NEEDLE, NeedleSet } from './plaintext-scan';
import { spawnSelfTestWorker, storeDamage, type SelfTestEvent, type StoreToVerify } from './self-test-worker';

const MAX_NEEDLES = 5000;
/** Bytes of a file searched per turn of the event loop when the work cannot go to its thread. */
const IN_THREAD_SLICE_BYTES = 4 << 20;

/** `damage` collects the stores that cannot be opened (their strings cannot be known). */
export function customerStrings(appliance: Appliance, damage: string[] = []): string[] {
  const found = new Set<string>();
  const add = (s: string) => {
    if (s.length >= MIN_NEEDLE && found.size < MAX_NEEDLES) found.add(s);
  };
  for (const w of appliance.control.listWorkspaces()) {
    add(w.alias);
    for (const [k, v] of Object.entries(w.tags)) (add(k), add(v));
    try {
      // The label index, not every series' labels: its strings once each, and no more than needed.
      const q = appliance.store(w.workspaceId).querier();
      for (const name of q.labelNames()) {
        if (found.size >= MAX_NEEDLES) break;
        add(name);
        for (const value of q.labelValues(name)) {
          if (found.size >= MAX_NEEDLES) break;
          add(value);
        }
      }
    } catch (e) {
      if (!(e instanceof StoreError)) throw e;
      damage.push(e.message);
    }
  }
  return [...found];
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

/** A copy of each data-key generation of a workspace, each in memory of its own (moved to the thread, wiped there). */
function rawKeys(appliance: Appliance, workspaceId: string): StoreToVerify['keys'] {
  const keys = controlDatabase(appliance).dataKeys(workspaceId);
  const out: [number, Uint8Array][] = [];
  // Generations run 1..current and stay until the workspace is deleted (DataKeyStore).
  for (let g = 1; keys && g <= keys.current; g++) {
    const copy = cipherKey(keys.get(g));
    out.push([g, new Uint8Array(copy)]);
    copy.fill(0);
  }
  return out;
}

/**
 * Runs the verification and the scan on a thread of its own, reporting progress as each store and
 * file is done; where that thread cannot start or dies, the rest runs here in slices (a store, or
 * a few MiB of a file, a turn of the event loop).
 */
export class PlaintextSelfTest {
  private progress: SelfTestProgress = IDLE;
  private stopped = false;
  private worker: Worker | null = null;
  /** Which start() a late answer belongs to: one from a finished run must not touch the next. */
  private runs = 0;

  constructor(
    private readonly appliance: Appliance,
    private readonly record: (outcome: 'passed' | 'failed', detail: string) => void,
    /** Starts the reading thread, or null where it cannot run (tests pass their own). */
    private readonly spawn: typeof spawnSelfTestWorker = spawnSelfTestWorker,
  ) {}

  current(): SelfTestProgress {
    return this.progress;
  }

  /** Abandons a running scan (the appliance is closing). */
  stop(): void {
    this.stopped = true;
    void this.worker?.terminate();
    this.worker = null;
  }

  start(): SelfTestProgress {
    if (this.progress.state === 'running' || this.stopped) return this.progress;
    const { appliance } = this;
    const run = ++this.runs;
    const live = () => !this.stopped && this.runs === run && this.progress.state === 'running';
    const damage: string[] = [];
    const needles = customerStrings(appliance, damage).map((s) => Buffer.from(s, 'utf8'));
    const unopened = new Set(damage.map((d) => /^Workspace (\S+):/.exec(d)?.[1]));
    const toVerify = appliance.control.listWorkspaces().map((w) => w.workspaceId).filter((id) => !unopened.has(id));
    const paths = toVerify.map((id) => join(workspaceDir(appliance.dataDir, id), 'tsdb.db'));
    const files = listFiles(appliance.dataDir);
    const findings: string[] = [];
    let verified = 0, scanned = 0, bytes = 0;
    const update = (state: SelfTestProgress['state'], message: string) => {
      this.progress = { state, filesScanned: scanned, filesTotal: files.length, bytesScanned: bytes, findings: [...findings], damage: [...damage], message, finishedAt: state === 'running' ? null : new Date().toISOString() };
    };
    const finish = (failure?: string) => {
      void this.worker?.terminate();
      this.worker = null;
      if (failure !== undefined) {
        update('failed', `the self-test stopped: ${failure}`);
        this.record('failed', `stopped after ${verified} store(s) and ${scanned} of ${files.length} files: ${failure}`);
        return;
      }
      const ok = findings.length === 0 && damage.length === 0;
      const parts = [
        findings.length ? `stored strings found in clear in ${findings.length} file(s)` : `no stored string found in clear in ${files.length} files (${needles.length} strings checked)`,
        damage.length ? `${damage.length} workspace store(s) damaged: ${damage.join(' | ')}` : '',
      ];
      update(ok ? 'passed' : 'failed', parts.filter(Boolean).join('; '));
      this.record(ok ? 'passed' : 'failed', `${files.length} files, ${needles.length} strings, ${findings.length} with plaintext, ${damage.length} damaged store(s)`);
    };
    const progressed = () => {
      if (verified === toVerify.length && scanned === files.length) finish();
      else if (verified < toVerify.length) update('running', `verifying workspace stores (${toVerify.length - verified} to go)`);
      else update('running', `checking ${files.length} files for ${needles.length} stored strings`);
    };
    const fileDone = (found: boolean, unreadable: string | null) => {
      const name = relative(appliance.dataDir, files[scanned]!);
      if (found) findings.push(name);
      if (unreadable !== null) findings.push(`${name} (could not be read: ${unreadable})`);
      scanned++;
    };
    const onEvent = (e: SelfTestEvent) => {
      if (!live()) return;
      if (e.kind === 'failed') return finish(e.message);
      if (e.kind === 'store') {
        if (e.damage) damage.push(e.damage);
        verified++;
      } else {
        bytes += e.bytes;
        fileDone(e.found, e.unreadable);
      }
      progressed();
    };

    // What the thread did not get to (it could not start, or it died): here, a slice a turn.
    const inThread = () => {
      const set = new NeedleSet(needles);
      let scan: FileScan | null = null;
      const step = () => {
        if (!live()) return;
        try {
          if (verified < toVerify.length) {
            const id = toVerify[verified]!;
            onEvent({ kind: 'store', damage: storeDamage(paths[verified]!, id, controlDatabase(appliance).dataKeys(id)) });
          } else {
            scan ??= new FileScan(files[scanned]!, set);
            const before = scan.bytes;
            scan.step(IN_THREAD_SLICE_BYTES);
            bytes += scan.bytes - before;
            if (scan.done) {
              const { found, unreadable } = scan;
              scan = null;
              onEvent({ kind: 'file', bytes: 0, found, unreadable });
            }
          }
        } catch (e) {
          scan?.close();
          return finish((e as Error).message);
        }
        setImmediate(step);
      };
      setImmediate(step);
    };

    progressed();
    if (!live()) return this.progress;
    let worker: Worker | null;
    try {
      worker = this.spawn({ needles, stores: toVerify.map((id, i) => ({ workspaceId: id, path: paths[i]!, keys: rawKeys(appliance, id) })), files });
    } catch {
      worker = null; // a thread that cannot even be made: as where none can start
    }
    if (!worker) {
      inThread();
      return this.progress;
    }
    this.worker = worker;
    worker.on('message', onEvent);
    worker.once('error', () => {}); // 'exit' follows and says what to do
    worker.once('exit', () => {
      if (this.worker !== worker) return; // finished or stopped: ended on purpose
      this.worker = null;
      if (live()) inThread();
    });
    return this.progress;
  }
}
