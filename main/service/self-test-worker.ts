// The self-test's reading, on a thread of its own: every workspace store verified end to end (its
// own read-only connection, every row decrypted and authenticated) and every file of the data
// directory searched for stored strings (./plaintext-scan.ts). On the ingest thread that reading
// held up every remote write while it ran: 5 s for one 7.7 MB store of 10,000 series.
// Bundled on its own as dist/self-test-worker.mjs (build/build.mjs); where that bundle cannot load
// (a packaged app that refuses workers), ./self-test.ts does the same work on its own thread in slices.
import { statSync } from 'node:fs';
import { isMainThread, parentPort, workerData, type Worker } from 'node:worker_threads';
import { createCipher } from '../crypto/cipher';
import type { Cipher } from '../crypto/types';
import { StoreError, verifyTsdb } from '../tsdb';
import type { DataKeys } from '../tsdb/storage';
import { yieldToIngest } from '../http/thread-priority';
import { moduleWorker } from '../http/module-worker';
import { FileScan, NeedleSet } from './plaintext-scan';

/** A store to verify: its data keys as raw copies (generation, key), moved to the thread and wiped there once its ciphers hold them. */
export interface StoreToVerify {
  readonly workspaceId: string;
  readonly path: string;
  readonly keys: readonly (readonly [number, Uint8Array])[];
}

export interface SelfTestWork {
  readonly needles: readonly Uint8Array[];
  readonly stores: readonly StoreToVerify[];
  readonly files: readonly string[];
}

/** One answer per store, then one per file, in the order given. */
export type SelfTestEvent =
  | { readonly kind: 'store'; readonly damage: string | null }
  | { readonly kind: 'file'; readonly bytes: number; readonly found: boolean; readonly unreadable: string | null }
  | { readonly kind: 'failed'; readonly message: string };

/** Verifies one store file end to end; the damage message, or null when sound (or not made yet). */
export function storeDamage(path: string, workspaceId: string, keys: DataKeys | null): string | null {
  if (!statSync(path, { throwIfNoEntry: false })) return null;
  try {
    verifyTsdb({ path, workspaceId, keys });
    return null;
  } catch (e) {
    if (e instanceof StoreError) return e.message;
    throw e;
  }
}

function keysOf(store: StoreToVerify): DataKeys | null {
  if (store.keys.length === 0) return null;
  const ciphers = new Map<number, Cipher>();
  for (const [generation, raw] of store.keys) {
    ciphers.set(generation, createCipher(Buffer.from(raw.buffer, raw.byteOffset, raw.byteLength)));
    raw.fill(0);
  }
  return {
    current: Math.max(...ciphers.keys()),
    get(generation) {
      const c = ciphers.get(generation);
      if (!c) throw new RangeError(`workspace ${store.workspaceId} has no data key generation ${generation}`);
      return c;
    },
  };
}

function work(data: SelfTestWork, post: (e: SelfTestEvent) => void): void {
  yieldToIngest();
  for (const store of data.stores) post({ kind: 'store', damage: storeDamage(store.path, store.workspaceId, keysOf(store)) });
  const needles = new NeedleSet(data.needles);
  for (const file of data.files) {
    const scan = new FileScan(file, needles);
    scan.step();
    post({ kind: 'file', bytes: scan.bytes, found: scan.found, unreadable: scan.unreadable });
  }
}

interface WorkerData {
  readonly ampuleSelfTest: true;
  readonly work: SelfTestWork;
}

if (!isMainThread && (workerData as Partial<WorkerData> | null)?.ampuleSelfTest === true) {
  const port = parentPort!;
  try {
    work((workerData as WorkerData).work, (e) => port.postMessage(e));
  } catch (e) {
    port.postMessage({ kind: 'failed', message: (e as Error).message } satisfies SelfTestEvent);
  }
}

/** This bundle beside the one that spawns it (dist/), or this module through tsx from source; null where neither exists. */
export function spawnSelfTestWorker(work: SelfTestWork): Worker | null {
  const transferList = work.stores.flatMap((s) => s.keys.map(([, raw]) => raw.buffer as ArrayBuffer));
  return moduleWorker(import.meta.url, './self-test-worker.mjs', { workerData: { ampuleSelfTest: true, work } satisfies WorkerData, transferList });
}
