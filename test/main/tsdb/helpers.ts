// Test helpers for the store: temp dirs, data keys, sample values with exact bit patterns.
import Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createCipher } from '../../../main/crypto/cipher';
import type { Cipher } from '../../../main/crypto/types';
import { openTsdb, type DataKeys, type Tsdb } from '../../../main/tsdb/index';
import { labelsFromRecord, type Labels } from '../../../shared/labels';

/** Data keys by id; `current` can be changed to simulate a rotation. */
export class TestKeys implements DataKeys {
  readonly raw = new Map<number, Buffer>();
  private readonly ciphers = new Map<Buffer, Cipher>();
  current: number;

  constructor(ids: Record<number, Buffer> = { 1: randomBytes(32) }, current = 1) {
    for (const [id, key] of Object.entries(ids)) this.raw.set(Number(id), key);
    this.current = current;
  }

  get(id: number): Cipher {
    const key = this.raw.get(id);
    if (!key) throw new Error(`no data key ${id}`);
    let cipher = this.ciphers.get(key);
    if (!cipher) this.ciphers.set(key, (cipher = createCipher(key)));
    return cipher;
  }
}

export interface TempDir {
  readonly path: string;
  file(name: string): string;
  remove(): void;
}

export function tempDir(): TempDir {
  const path = mkdtempSync(join(tmpdir(), 'ampule-tsdb-'));
  return { path, file: (name) => join(path, name), remove: () => rmSync(path, { recursive: true, force: true }) };
}

/**
 * A store in a scratch folder (`dir`, or a new one), with a fresh data key unless `keys` are given:
 * pass back the dir and keys to open it again. Closing and removing it go to `cleanups`.
 */
export function scratchStore(cleanups: (() => void)[], workspaceId: string, dir = mkdtempSync(join(tmpdir(), 'ampule-store-')), keys: DataKeys = new TestKeys()): { db: Tsdb; dir: string; keys: DataKeys } {
  const db = openTsdb({ path: join(dir, 'ws.db'), workspaceId, keys });
  cleanups.push(() => {
    try {
      db.close();
    } catch {
      /* closed by the test */
    }
  });
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return { db, dir, keys };
}

export function lbl(rec: Record<string, string>): Labels {
  return labelsFromRecord(rec);
}

export function fromBits(bits: bigint): number {
  const b = new BigUint64Array([bits]);
  return new Float64Array(b.buffer)[0]!;
}

/** Bit pattern of a float64 (no JS array in between: V8 may canonicalize NaN payloads there). */
export function toBits(v: number): bigint {
  const f = new Float64Array(1);
  f[0] = v;
  return new BigUint64Array(f.buffer)[0]!;
}

/** The first column of the first row `query` gives, read through a read-only connection of its own. */
export function queryValue<T = number>(path: string, query: string): T {
  const db = new Database(path, { readonly: true });
  try {
    return db.prepare(query).pluck().get() as T;
  } finally {
    db.close();
  }
}

/** Log records after the newest head state: what a reopen replays (the rest the checkpoint covers). */
export function logSinceCheckpoint(path: string): number {
  return queryValue(path, 'SELECT count(*) FROM log WHERE seq > (SELECT coalesce(max(seq), 0) FROM head_state)');
}
