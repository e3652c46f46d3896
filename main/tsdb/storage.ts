// The workspace's SQLite file: schema, pragmas, and sealing of every row with AAD that binds it
// to the workspace, the table and the row. Only coarse bucket numbers, series-group numbers,
// key ids, sample counts and sequence numbers are stored in clear.
import Database from 'better-sqlite3';
import { statSync } from 'node:fs';
import { DecryptError, type Cipher } from '../crypto/types';

export interface DataKeys {
  /** Key id that seals new rows. */
  readonly current: number;
  /** The cipher of a key id; throws when the key is unknown. */
  get(id: number): Cipher;
}

const FORMAT = '1';
const AAD_PREFIX = 'ampule-tsdb/1';
/** key_id of rows written without encryption (only by a store opened with keys: null, for benchmarks). */
const PLAINTEXT_KEY_ID = 0;

export interface StoredRow {
  readonly keyId: number;
  readonly data: Buffer;
}

export interface ChunkRowRecord extends StoredRow {
  readonly bucket: number;
  readonly part: number;
  readonly samples: number;
}

export interface Layout {
  readonly bucketMs: number;
  readonly seriesPerPart: number;
}

export class Storage {
  readonly db: Database.Database;
  readonly layout: Layout;
  private readonly stmts;

  constructor(
    readonly path: string,
    readonly workspaceId: string,
    private readonly keys: DataKeys | null,
    wanted: Layout,
    nativeBinding?: string,
  ) {
    const db = new Database(path, nativeBinding ? { nativeBinding } : {});
    this.db = db;
    try {
      // auto_vacuum only takes effect before the first table exists.
      db.pragma('auto_vacuum = INCREMENTAL');
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = FULL');
      // Deleted or rewritten ciphertext must not be readable afterwards: FAST zeroes it inside
      // b-tree pages, and shrink() (incremental vacuum + WAL truncation) drops freed pages.
      db.pragma('secure_delete = FAST');
      db.exec(`
        CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
        CREATE TABLE IF NOT EXISTS series_pages (page INTEGER PRIMARY KEY, key_id INTEGER NOT NULL, data BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS log (seq INTEGER PRIMARY KEY, max_bucket INTEGER NOT NULL, key_id INTEGER NOT NULL, data BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS head_state (seq INTEGER PRIMARY KEY, key_id INTEGER NOT NULL, data BLOB NOT NULL);
        CREATE TABLE IF NOT EXISTS chunks (
          bucket INTEGER NOT NULL, part INTEGER NOT NULL, key_id INTEGER NOT NULL,
          samples INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (bucket, part));
        CREATE INDEX IF NOT EXISTS chunks_by_part ON chunks (part, bucket);
      `);
      this.layout = this.checkMeta(wanted);
    } catch (e) {
      db.close();
      throw e;
    }
    this.stmts = {
      pages: db.prepare<[], { page: number; key_id: number; data: Buffer }>('SELECT page, key_id, data FROM series_pages ORDER BY page'),
      putPage: db.prepare('INSERT OR REPLACE INTO series_pages (page, key_id, data) VALUES (?, ?, ?)'),
      deletePage: db.prepare('DELETE FROM series_pages WHERE page = ?'),
      log: db.prepare<[], { seq: number; key_id: number; data: Buffer }>('SELECT seq, key_id, data FROM log ORDER BY seq'),
      logKeys: db.prepare<[], { seq: number; key_id: number }>('SELECT seq, key_id FROM log ORDER BY seq'),
      logRow: db.prepare<[number], { key_id: number; data: Buffer }>('SELECT key_id, data FROM log WHERE seq = ?'),
      putLog: db.prepare('INSERT INTO log (seq, max_bucket, key_id, data) VALUES (?, ?, ?, ?)'),
      resealLog: db.prepare('UPDATE log SET key_id = ?, data = ? WHERE seq = ?'),
      deleteLogBefore: db.prepare('DELETE FROM log WHERE max_bucket < ?'),
      headState: db.prepare<[], { seq: number; key_id: number; data: Buffer }>('SELECT seq, key_id, data FROM head_state ORDER BY seq DESC LIMIT 1'),
      clearHeadState: db.prepare('DELETE FROM head_state'),
      putHeadState: db.prepare('INSERT OR REPLACE INTO head_state (seq, key_id, data) VALUES (?, ?, ?)'),
      chunk: db.prepare<[number, number], { key_id: number; samples: number; data: Buffer }>(
        'SELECT key_id, samples, data FROM chunks WHERE bucket = ? AND part = ?',
      ),
      chunksIn: db.prepare<[number, number], { bucket: number; part: number; key_id: number; samples: number; data: Buffer }>(
        'SELECT bucket, part, key_id, samples, data FROM chunks WHERE bucket BETWEEN ? AND ? ORDER BY bucket, part',
      ),
      chunksOfPart: db.prepare<[number, number, number], { bucket: number; key_id: number; samples: number; data: Buffer }>(
        'SELECT bucket, key_id, samples, data FROM chunks WHERE part = ? AND bucket BETWEEN ? AND ? ORDER BY bucket',
      ),
      chunkKeys: db.prepare<[], { bucket: number; part: number; key_id: number }>('SELECT bucket, part, key_id FROM chunks ORDER BY bucket, part'),
      putChunk: db.prepare('INSERT OR REPLACE INTO chunks (bucket, part, key_id, samples, data) VALUES (?, ?, ?, ?, ?)'),
      deleteChunk: db.prepare('DELETE FROM chunks WHERE bucket = ? AND part = ?'),
      deleteBucketsBefore: db.prepare<[number]>('DELETE FROM chunks WHERE bucket < ?'),
      samplesBefore: db.prepare<[number], { n: number | null }>('SELECT sum(samples) AS n FROM chunks WHERE bucket < ?'),
      totalSamples: db.prepare<[], { n: number | null }>('SELECT sum(samples) AS n FROM chunks'),
      maxSeq: db.prepare<[], { m: number | null }>('SELECT max(m) AS m FROM (SELECT max(seq) AS m FROM log UNION ALL SELECT max(seq) FROM head_state)'),
      maxPage: db.prepare<[], { m: number | null }>('SELECT max(page) AS m FROM series_pages'),
    };
  }

  private checkMeta(wanted: Layout): Layout {
    const get = this.db.prepare<[string], { value: string }>('SELECT value FROM meta WHERE name = ?');
    const ws = get.get('workspace_id')?.value;
    if (ws === undefined) {
      const put = this.db.prepare('INSERT INTO meta (name, value) VALUES (?, ?)');
      this.db.transaction(() => {
        put.run('workspace_id', this.workspaceId);
        put.run('format', FORMAT);
        put.run('bucket_ms', String(wanted.bucketMs));
        put.run('series_per_part', String(wanted.seriesPerPart));
      })();
      return wanted;
    }
    if (ws !== this.workspaceId) {
      throw new DecryptError(
        `The store file ${this.path} belongs to workspace ${ws}, not ${this.workspaceId}. ` +
          `How to fix: open it as workspace ${ws}, or move it back to that workspace's data folder.`,
      );
    }
    const format = get.get('format')?.value;
    if (format !== FORMAT) throw new Error(`Workspace ${ws}: store format ${format} is not supported by this version (expects ${FORMAT}).`);
    return { bucketMs: Number(get.get('bucket_ms')!.value), seriesPerPart: Number(get.get('series_per_part')!.value) };
  }

  get encrypted(): boolean {
    return this.keys !== null;
  }

  private aad(item: Item): string {
    return `${AAD_PREFIX}|ws=${this.workspaceId}|${item.aad}`;
  }

  seal(item: Item, plain: Buffer): StoredRow {
    if (!this.keys) return { keyId: PLAINTEXT_KEY_ID, data: plain };
    const keyId = this.keys.current;
    return { keyId, data: this.keys.get(keyId).seal(plain, this.aad(item)) };
  }

  /** Decrypts a row; the error names the workspace and the damaged item. */
  open(item: Item, row: StoredRow): Buffer {
    const fail = (why: string): DecryptError =>
      new DecryptError(
        `Workspace ${this.workspaceId}: ${item.name} cannot be read: ${why}. The rest of the workspace stays readable. ` +
          `How to fix: restore the workspace file from a backup, or delete the damaged data (deleteSeries / retention).`,
      );
    if (!this.keys) {
      if (row.keyId !== PLAINTEXT_KEY_ID) throw fail(`it is encrypted (key ${row.keyId}) but the store was opened without keys`);
      return row.data;
    }
    if (row.keyId === PLAINTEXT_KEY_ID) throw fail('it is not encrypted although this store is');
    let cipher: Cipher;
    try {
      cipher = this.keys.get(row.keyId);
    } catch (e) {
      throw fail(`its data key ${row.keyId} is not available (${(e as Error).message})`);
    }
    try {
      return cipher.open(row.data, this.aad(item));
    } catch (e) {
      throw fail(`${(e as Error).message}; it was altered, or copied from another row or workspace`);
    }
  }

  get currentKeyId(): number {
    return this.keys ? this.keys.current : PLAINTEXT_KEY_ID;
  }

  // ---- rows -------------------------------------------------------------------------------

  pages(): { page: number; keyId: number; data: Buffer }[] {
    return this.stmts.pages.all().map((r) => ({ page: r.page, keyId: r.key_id, data: r.data }));
  }

  putPage(page: number, row: StoredRow): void {
    this.stmts.putPage.run(page, row.keyId, row.data);
  }

  deletePage(page: number): void {
    this.stmts.deletePage.run(page);
  }

  logRows(): { seq: number; keyId: number; data: Buffer }[] {
    return this.stmts.log.all().map((r) => ({ seq: r.seq, keyId: r.key_id, data: r.data }));
  }

  logKeys(): { seq: number; keyId: number }[] {
    return this.stmts.logKeys.all().map((r) => ({ seq: r.seq, keyId: r.key_id }));
  }

  logRow(seq: number): StoredRow | undefined {
    const r = this.stmts.logRow.get(seq);
    return r && { keyId: r.key_id, data: r.data };
  }

  /** `maxBucket`: the newest bucket among the record's samples (the row may go once it is cut). */
  putLog(seq: number, maxBucket: number, row: StoredRow): void {
    this.stmts.putLog.run(seq, maxBucket, row.keyId, row.data);
  }

  resealLog(seq: number, row: StoredRow): void {
    this.stmts.resealLog.run(row.keyId, row.data, seq);
  }

  /** Deletes log records whose samples all lie before `bucket`. */
  deleteLogBefore(bucket: number): void {
    this.stmts.deleteLogBefore.run(bucket);
  }

  headState(): { seq: number; keyId: number; data: Buffer } | undefined {
    const r = this.stmts.headState.get();
    return r && { seq: r.seq, keyId: r.key_id, data: r.data };
  }

  putHeadState(seq: number, row: StoredRow): void {
    this.stmts.clearHeadState.run();
    this.stmts.putHeadState.run(seq, row.keyId, row.data);
  }

  chunk(bucket: number, part: number): ChunkRowRecord | undefined {
    const r = this.stmts.chunk.get(bucket, part);
    return r && { bucket, part, keyId: r.key_id, samples: r.samples, data: r.data };
  }

  chunksIn(minBucket: number, maxBucket: number): ChunkRowRecord[] {
    return this.stmts.chunksIn.all(minBucket, maxBucket).map((r) => ({ bucket: r.bucket, part: r.part, keyId: r.key_id, samples: r.samples, data: r.data }));
  }

  chunksOfPart(part: number, minBucket: number, maxBucket: number): ChunkRowRecord[] {
    return this.stmts.chunksOfPart.all(part, minBucket, maxBucket).map((r) => ({ bucket: r.bucket, part, keyId: r.key_id, samples: r.samples, data: r.data }));
  }

  chunkKeys(): { bucket: number; part: number; keyId: number }[] {
    return this.stmts.chunkKeys.all().map((r) => ({ bucket: r.bucket, part: r.part, keyId: r.key_id }));
  }

  putChunk(bucket: number, part: number, samples: number, row: StoredRow): void {
    this.stmts.putChunk.run(bucket, part, row.keyId, samples, row.data);
  }

  deleteChunk(bucket: number, part: number): void {
    this.stmts.deleteChunk.run(bucket, part);
  }

  /** Deletes every bucket before `bucket`; returns the number of samples they held. */
  deleteBucketsBefore(bucket: number): number {
    const n = this.stmts.samplesBefore.get(bucket)?.n ?? 0;
    this.stmts.deleteBucketsBefore.run(bucket);
    return n;
  }

  chunkSamples(): number {
    return this.stmts.totalSamples.get()?.n ?? 0;
  }

  maxLogSeq(): number {
    return this.stmts.maxSeq.get()?.m ?? 0;
  }

  maxPage(): number {
    return this.stmts.maxPage.get()?.m ?? 0;
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }

  /** Returns freed pages to the file system and folds the SQLite WAL into the main file. */
  shrink(): void {
    this.db.pragma('incremental_vacuum');
    this.db.pragma('wal_checkpoint(TRUNCATE)');
  }

  bytesOnDisk(): number {
    let n = 0;
    for (const suffix of ['', '-wal', '-shm']) {
      try {
        n += statSync(this.path + suffix).size;
      } catch {
        // absent file: nothing on disk
      }
    }
    return n;
  }

  close(): void {
    this.db.close();
  }
}

/** A row's identity: `aad` is bound into its ciphertext, `name` is how errors describe it. */
export interface Item {
  readonly aad: string;
  readonly name: string;
}

export const items = {
  page: (page: number): Item => ({ aad: `series_pages|page=${page}`, name: `series page ${page}` }),
  log: (seq: number): Item => ({ aad: `log|seq=${seq}`, name: `log record ${seq}` }),
  headState: (seq: number): Item => ({ aad: `head_state|seq=${seq}`, name: `head state ${seq}` }),
  chunk: (bucket: number, part: number, layout: Layout): Item => ({
    aad: `chunks|bucket=${bucket}|part=${part}`,
    name:
      `chunk row for ${new Date(bucket * layout.bucketMs).toISOString()} (bucket ${bucket}), ` +
      `series ids ${part * layout.seriesPerPart}-${(part + 1) * layout.seriesPerPart - 1} (part ${part})`,
  }),
};
