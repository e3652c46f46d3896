// The workspace's SQLite file: schema, pragmas, sealing of every row with AAD that binds it to the
// workspace, the table and the row, and the sealed manifest (./manifest.ts) that every read is
// checked against. Only coarse bucket numbers, series-group numbers, key ids, sample counts and
// sequence numbers are stored in clear. Every failure is a StoreError naming workspace, file, item.
import Database, { type Statement } from 'better-sqlite3';
import { statSync } from 'node:fs';
import { dirname } from 'node:path';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { cipherKey } from '../crypto/cipher';
import type { Cipher } from '../crypto/types';
import { displayPath, sqliteFailure, StoreDamaged, StoreError } from './errors';
import { Manifest, rowDigest, type Layout, type LogSummary } from './manifest';
import { rowCache } from './row-cache';
import { walDamage } from './wal-file';

export type { Layout } from './manifest';
import type { BlobName } from './manifest';

export interface DataKeys {
  /** Key id that seals new rows. */
  readonly current: number;
  /** The cipher of a key id; throws when the key is unknown. */
  get(id: number): Cipher;
}

/**
 * 1: before the manifest; 2: with the manifest; 3: each log row's digest in its own column (both
 * migrated on open); 4: chunks may pack their deltas (chunkenc's SCALE_PACKED), which a version
 * that reads 3 would misread, so a file is marked 4 when this version first opens it to write; 5:
 * the head state's samples may be in parts (table head_parts, listed in the manifest), made on the
 * same first open; 6: those parts may be numbered from 2^19 beside an unfinished checkpoint's (a
 * head state of version 4, which a version that reads format 5 refuses as damaged), marked on the
 * first open to write.
 */
const FORMAT = '6';
const FORMAT_BEFORE_PART_RANGES = '5';
const FORMAT_BEFORE_MANIFEST = '1';
const FORMAT_BEFORE_LOG_TAGS = '2';
const FORMAT_BEFORE_PACKED = '3';
const FORMAT_BEFORE_HEAD_PARTS = '4';
const READ_FORMATS = new Set([FORMAT, FORMAT_BEFORE_PART_RANGES, FORMAT_BEFORE_HEAD_PARTS, FORMAT_BEFORE_PACKED, FORMAT_BEFORE_LOG_TAGS, FORMAT_BEFORE_MANIFEST]);
const AAD_PREFIX = 'ampule-tsdb/1';
/** key_id of rows written without encryption (only by a store opened with keys: null, for benchmarks). */
const PLAINTEXT_KEY_ID = 0;
const TABLES = ['meta', 'series_pages', 'log', 'head_state', 'chunks', 'manifest'];

export interface StoredRow {
  readonly keyId: number;
  readonly data: Buffer;
}

export interface ChunkRowRecord extends StoredRow {
  readonly bucket: number;
  readonly part: number;
  readonly samples: number;
}

export interface StorageOptions {
  readonly nativeBinding?: string | undefined;
  /** Run SQLite's quick_check when opening (of the tables an open reads whole but the log; see quickCheck()). */
  readonly quickCheck?: boolean;
  /** Open read-only on a file another connection may be writing (the self-test): no schema changes, no log check. */
  readonly readonly?: boolean;
}

const SCHEMA = `
  CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE series_pages (page INTEGER PRIMARY KEY, key_id INTEGER NOT NULL, data BLOB NOT NULL);
  CREATE TABLE log (seq INTEGER PRIMARY KEY, max_bucket INTEGER NOT NULL, key_id INTEGER NOT NULL, data BLOB NOT NULL, tag INTEGER);
  CREATE TABLE head_state (seq INTEGER PRIMARY KEY, key_id INTEGER NOT NULL, data BLOB NOT NULL);
  CREATE TABLE chunks (
    bucket INTEGER NOT NULL, part INTEGER NOT NULL, key_id INTEGER NOT NULL,
    samples INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (bucket, part));
  CREATE INDEX chunks_by_part ON chunks (part, bucket);
`;
/** The tables an open quick_checks (see Storage.quickCheck). */
const OPEN_CHECKED = ['meta', 'manifest', 'series_pages', 'head_state', 'head_parts'];
/**
 * The head state's samples in parts of a few MB (./head-checkpoint), each sealed on its own: one
 * row of a whole head would be held three times while written (encoded, sealed, bound) and could
 * not be written past SQLite's 10⁹-byte limit on a value, which a 2 h head of 1 M series reaches
 * (head-checkpoint's PART_BYTES).
 */
const HEAD_PARTS_TABLE = 'CREATE TABLE head_parts (part INTEGER PRIMARY KEY, key_id INTEGER NOT NULL, data BLOB NOT NULL);';
const MANIFEST_TABLE = 'CREATE TABLE manifest (name TEXT PRIMARY KEY, key_id INTEGER NOT NULL, data BLOB NOT NULL);';
/**
 * Each log row's digest (rowDigest) beside its clear columns, in an index an open scans alone: the
 * rows themselves are up to the head's samples (a 100,000-series head of 2 h: 206 MB), which an
 * open read whole for their digests although a checkpoint covers most of them.
 */
const LOG_TAGS = 'CREATE INDEX log_tags ON log (seq, max_bucket, key_id, tag);';

/** The columns the store's statements read back as bytes (the others are integers), and those that may be NULL. */
const BLOB_COLUMNS = new Set(['data', 'tail', 'plain']);
const NULLABLE_COLUMNS = new Set(['tail', 'plain', 'tag', 'n', 'm']);

/** Openings so far on this thread. */
let openings = 0;

export class Storage {
  readonly db: Database.Database;
  /** Tells this opening of the file from earlier and later ones (a query worker's reader follows it). */
  readonly opening = ++openings;
  readonly layout: Layout;
  /** The path errors show (workspaces/<id>/tsdb.db). */
  readonly file: string;
  private manifest!: Manifest;
  private readonly stmts;
  /** The log's rows carry their digests (format 3; a read-only open of format 2 reads them off the rows). */
  private logTagged = true;
  /** The file has table head_parts (format 5; a read-only open of an older file has none). */
  private hasHeadParts = true;

  constructor(
    readonly path: string,
    readonly workspaceId: string,
    private readonly keys: DataKeys | null,
    wanted: Layout,
    opts: StorageOptions = {},
  ) {
    this.file = displayPath(path);
    if (!opts.readonly) {
      // Checked before SQLite sees the log: its recovery would drop the damaged frame and every later one.
      const wal = walDamage(`${path}-wal`);
      if (wal) throw this.damaged(`write-ahead log ${this.file}-wal`, wal);
    }
    const db = this.guard('the file', () => new Database(path, { ...(opts.nativeBinding ? { nativeBinding: opts.nativeBinding } : {}), ...(opts.readonly ? { readonly: true, fileMustExist: true } : {}) }));
    this.db = db;
    try {
      this.layout = this.guard('the file', () => {
        if (!opts.readonly) {
          // auto_vacuum only takes effect before the first table exists.
          db.pragma('auto_vacuum = INCREMENTAL');
          db.pragma('journal_mode = WAL');
          db.pragma('synchronous = FULL');
          // Deleted or rewritten ciphertext must not be readable afterwards: FAST zeroes it inside
          // b-tree pages, and shrink() (incremental vacuum + WAL truncation) drops freed pages.
          db.pragma('secure_delete = FAST');
        }
        if (opts.quickCheck) this.quickCheck(true);
        return this.openSchema(wanted, !!opts.readonly);
      });
    } catch (e) {
      db.close();
      throw e;
    }
    // Prepared when first used: a read-only open of a format-2 file cannot prepare the writes.
    const prep = <P extends unknown[], R>(sql: string, item: string) => {
      let prepared: Statement<P, R> | undefined;
      const s = () => (prepared ??= this.guard(item, () => db.prepare<P, R>(sql)));
      return {
        run: (...a: P) => this.guard(item, () => s().run(...a)),
        get: (...a: P) => this.checked(item, this.guard(item, () => s().get(...a))),
        all: (...a: P) => {
          const rows = this.guard(item, () => s().all(...a));
          for (const r of rows) this.checked(item, r);
          return rows;
        },
      };
    };
    this.stmts = {
      pages: prep<[], { page: number; key_id: number; data: Buffer }>('SELECT page, key_id, data FROM series_pages ORDER BY page', 'series pages'),
      page: prep<[number], { page: number; key_id: number; data: Buffer }>('SELECT page, key_id, data FROM series_pages WHERE page = ?', 'series pages'),
      putPage: prep<[number, number, Buffer], never>('INSERT OR REPLACE INTO series_pages (page, key_id, data) VALUES (?, ?, ?)', 'series pages'),
      deletePage: prep<[number], never>('DELETE FROM series_pages WHERE page = ?', 'series pages'),
      // A read-only open of a format-2 file (the self-test, before the store's first open migrated
      // it) has no digest column: the digests come from each row's last bytes (or all of a plaintext row).
      logTags: prep<[], { seq: number; max_bucket: number; key_id: number; tag: number | null; tail: Buffer | null; plain: Buffer | null }>(
        this.logTagged
          ? 'SELECT seq, max_bucket, key_id, tag, NULL AS tail, NULL AS plain FROM log ORDER BY seq'
          : `SELECT seq, max_bucket, key_id, NULL AS tag, substr(data, -4) AS tail, CASE WHEN key_id = ${PLAINTEXT_KEY_ID} THEN data END AS plain FROM log ORDER BY seq`,
        'log records',
      ),
      logData: prep<[number], { seq: number; data: Buffer }>('SELECT seq, data FROM log WHERE seq > ? ORDER BY seq', 'log records'),
      logKeys: prep<[], { seq: number; key_id: number }>('SELECT seq, key_id FROM log ORDER BY seq', 'log records'),
      logRow: prep<[number], { max_bucket: number; key_id: number; data: Buffer }>('SELECT max_bucket, key_id, data FROM log WHERE seq = ?', 'log records'),
      putLog: prep<[number, number, number, Buffer, number], never>('INSERT INTO log (seq, max_bucket, key_id, data, tag) VALUES (?, ?, ?, ?, ?)', 'log records'),
      resealLog: prep<[number, Buffer, number, number], never>('UPDATE log SET key_id = ?, data = ?, tag = ? WHERE seq = ?', 'log records'),
      deleteLogBefore: prep<[number, number], never>('DELETE FROM log WHERE max_bucket < ? AND seq <= ?', 'log records'),
      headState: prep<[], { seq: number; key_id: number; data: Buffer }>('SELECT seq, key_id, data FROM head_state ORDER BY seq DESC LIMIT 2', 'head state'),
      clearHeadState: prep<[], never>('DELETE FROM head_state', 'head state'),
      putHeadState: prep<[number, number, Buffer], never>('INSERT OR REPLACE INTO head_state (seq, key_id, data) VALUES (?, ?, ?)', 'head state'),
      headPart: prep<[number], { key_id: number; data: Buffer }>('SELECT key_id, data FROM head_parts WHERE part = ?', 'head state parts'),
      headPartKeys: prep<[], { part: number; key_id: number }>('SELECT part, key_id FROM head_parts ORDER BY part', 'head state parts'),
      putHeadPart: prep<[number, number, Buffer], never>('INSERT OR REPLACE INTO head_parts (part, key_id, data) VALUES (?, ?, ?)', 'head state parts'),
      deleteHeadPartsOutside: prep<[number, number], never>('DELETE FROM head_parts WHERE part < ? OR part >= ?', 'head state parts'),
      chunk: prep<[number, number], { key_id: number; samples: number; data: Buffer }>('SELECT key_id, samples, data FROM chunks WHERE bucket = ? AND part = ?', 'chunk rows'),
      chunksOfPart: prep<[number, number, number], { bucket: number; key_id: number; samples: number; data: Buffer }>(
        'SELECT bucket, key_id, samples, data FROM chunks WHERE part = ? AND bucket BETWEEN ? AND ? ORDER BY bucket',
        'chunk rows',
      ),
      chunkList: prep<[], { bucket: number; part: number; samples: number }>('SELECT bucket, part, samples FROM chunks', 'chunk rows'),
      chunkKeys: prep<[], { bucket: number; part: number; key_id: number }>('SELECT bucket, part, key_id FROM chunks ORDER BY bucket, part', 'chunk rows'),
      putChunk: prep<[number, number, number, number, Buffer], never>('INSERT OR REPLACE INTO chunks (bucket, part, key_id, samples, data) VALUES (?, ?, ?, ?, ?)', 'chunk rows'),
      deleteChunk: prep<[number, number], never>('DELETE FROM chunks WHERE bucket = ? AND part = ?', 'chunk rows'),
      deleteBucketsBefore: prep<[number], never>('DELETE FROM chunks WHERE bucket < ?', 'chunk rows'),
      samplesBefore: prep<[number], { n: number | null }>('SELECT sum(samples) AS n FROM chunks WHERE bucket < ?', 'chunk rows'),
      totalSamples: prep<[], { n: number | null }>('SELECT sum(samples) AS n FROM chunks', 'chunk rows'),
      maxSeq: prep<[], { m: number | null }>('SELECT max(m) AS m FROM (SELECT max(seq) AS m FROM log UNION ALL SELECT max(seq) FROM head_state)', 'log records'),
      maxPage: prep<[], { m: number | null }>('SELECT max(page) AS m FROM series_pages', 'series pages'),
      manifest: prep<[string], { key_id: number; data: Buffer }>('SELECT key_id, data FROM manifest WHERE name = ?', 'manifest'),
    };
    try {
      this.loadManifest();
    } catch (e) {
      db.close();
      throw e;
    }
  }

  private guard<T>(item: string, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      throw sqliteFailure(e, this.workspaceId, this.file, item);
    }
  }

  /**
   * A row read back, its columns of the kinds the store writes: a flipped bit in a record's header
   * can make SQLite return NULL, a string or a number where bytes were written, which the code
   * reading the row would trip over without naming the damage.
   */
  private checked<R>(item: string, row: R): R {
    if (row === undefined) return row;
    for (const col in row) {
      const v = (row as Record<string, unknown>)[col];
      const ok = v === null ? NULLABLE_COLUMNS.has(col) : BLOB_COLUMNS.has(col) ? Buffer.isBuffer(v) : typeof v === 'number';
      if (!ok) throw this.damaged(item, `its ${col} column holds ${v === null ? 'NULL' : typeof v} where the store writes ${BLOB_COLUMNS.has(col) ? 'bytes' : 'a number'}`);
    }
    return row;
  }

  private damaged(item: string, why: string): StoreDamaged {
    return new StoreDamaged(this.workspaceId, this.file, item, why);
  }

  /**
   * SQLite's structural check (b-trees, free list, record formats) of every page, or (`onOpen`) of
   * the tables an open reads whole but the log: those stay small, while the log (up to the head's
   * samples) and the chunk rows (the whole store) would make every restart read the file. What an
   * open leaves out is still checked where it counts: it scans the log's index and reads the rows
   * after the checkpoint (a broken b-tree there is SQLITE_CORRUPT), every row read is
   * authenticated, and the self-test (verifyTsdb) checks every page.
   */
  quickCheck(onOpen = false): void {
    const tables = onOpen
      ? OPEN_CHECKED.filter((t) => this.db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = ?").get(t))
      : [null];
    for (const table of tables) {
      const rows = this.db.pragma(`quick_check(${table ?? 5})`) as { quick_check: string }[];
      const problems = rows.map((r) => r.quick_check).filter((m) => m !== 'ok').slice(0, 5);
      if (problems.length) throw this.damaged('SQLite structure', `quick_check: ${problems.join('; ')}`);
    }
  }

  /** Creates the schema of a new file, or checks an existing one (migrating format 1). */
  private openSchema(wanted: Layout, readonly: boolean): Layout {
    const db = this.db;
    const tables = new Set(db.prepare<[], { name: string }>("SELECT name FROM sqlite_schema WHERE type = 'table'").all().map((r) => r.name));
    if (tables.size === 0 && !readonly) {
      db.transaction(() => {
        db.exec(SCHEMA + MANIFEST_TABLE + LOG_TAGS + HEAD_PARTS_TABLE);
        const put = db.prepare('INSERT INTO meta (name, value) VALUES (?, ?)');
        put.run('workspace_id', this.workspaceId);
        put.run('format', FORMAT);
        put.run('bucket_ms', String(wanted.bucketMs));
        put.run('series_per_part', String(wanted.seriesPerPart));
        this.manifest = new Manifest(wanted);
        this.manifest.indexDirty = this.manifest.logDirty = true;
        this.flushManifest(db);
      })();
      return wanted;
    }
    const meta = new Map(db.prepare<[], { name: string; value: string }>('SELECT name, value FROM meta').all().map((r) => [r.name, r.value]));
    const ws = meta.get('workspace_id');
    if (ws !== this.workspaceId) {
      throw this.damaged('meta', ws === undefined ? 'the workspace id is missing' : `it says the file belongs to workspace ${ws}: it was moved from that workspace's folder, or altered`);
    }
    const format = meta.get('format');
    if (format === undefined || !READ_FORMATS.has(format)) throw this.damaged('meta', `store format ${JSON.stringify(format)} is not one this version reads (${FORMAT})`);
    const layout = { bucketMs: Number(meta.get('bucket_ms')), seriesPerPart: Number(meta.get('series_per_part')) };
    if (!(layout.bucketMs > 0 && Number.isSafeInteger(layout.bucketMs) && layout.seriesPerPart > 0 && Number.isSafeInteger(layout.seriesPerPart))) {
      throw this.damaged('meta', `the layout (bucket_ms ${meta.get('bucket_ms')}, series_per_part ${meta.get('series_per_part')}) is not valid`);
    }
    const missing = [...TABLES, ...(format === FORMAT || format === FORMAT_BEFORE_PART_RANGES ? ['head_parts'] : [])].filter((t) => !tables.has(t) && !(t === 'manifest' && format === FORMAT_BEFORE_MANIFEST));
    if (missing.length) throw this.damaged('schema', `table(s) ${missing.join(', ')} missing`);
    if (format === FORMAT_BEFORE_MANIFEST) {
      if (readonly) throw this.damaged('manifest', 'the file has no manifest yet (it is made the next time the workspace opens)');
      this.migrate(layout);
    }
    const tagged = format === FORMAT || format === FORMAT_BEFORE_PART_RANGES || format === FORMAT_BEFORE_HEAD_PARTS || format === FORMAT_BEFORE_PACKED;
    if (!tagged && !readonly) this.migrateLogTags();
    else if (format !== FORMAT && !readonly) this.db.transaction(() => this.upgrade())();
    this.logTagged = tagged || !readonly;
    this.hasHeadParts = tables.has('head_parts') || !readonly;
    return layout;
  }

  private setFormat(format: string): void {
    this.db.prepare("UPDATE meta SET value = ? WHERE name = 'format'").run(format);
  }

  /** Format 3, 4 or 5 → 6: nothing to rewrite, only the table for head state parts (6: numbered from any part). */
  private upgrade(): void {
    this.db.exec(HEAD_PARTS_TABLE.replace('CREATE TABLE', 'CREATE TABLE IF NOT EXISTS'));
    this.setFormat(FORMAT);
  }

  /** Format 2 → 3: each log row's digest in its own column, and the index an open scans for them (one pass over the log). */
  private migrateLogTags(): void {
    const db = this.db;
    db.transaction(() => {
      db.exec('ALTER TABLE log ADD COLUMN tag INTEGER');
      const rows = db
        .prepare<[], { seq: number; key_id: number; tail: Buffer; plain: Buffer | null }>(`SELECT seq, key_id, substr(data, -4) AS tail, CASE WHEN key_id = ${PLAINTEXT_KEY_ID} THEN data END AS plain FROM log`)
        .all();
      const put = db.prepare('UPDATE log SET tag = ? WHERE seq = ?');
      for (const r of rows) put.run(rowDigest(r.plain ?? r.tail, r.key_id !== PLAINTEXT_KEY_ID), r.seq);
      db.exec(LOG_TAGS);
      this.upgrade();
    })();
  }

  /** Format 1 → 2: the manifest of the rows as they are (their content is checked as they are read); format 3 follows. */
  private migrate(layout: Layout): void {
    const db = this.db;
    const sealed = this.encrypted;
    db.transaction(() => {
      db.exec(MANIFEST_TABLE);
      const m = new Manifest(layout);
      for (const r of db.prepare<[], { page: number; data: Buffer }>('SELECT page, data FROM series_pages').all()) m.putPage(r.page, rowDigest(r.data, sealed));
      const hs = db.prepare<[], { seq: number; data: Buffer }>('SELECT seq, data FROM head_state ORDER BY seq DESC LIMIT 1').get();
      if (hs) m.putHeadState(hs.seq, rowDigest(hs.data, sealed));
      if (db.prepare("SELECT 1 FROM sqlite_schema WHERE type = 'table' AND name = 'head_parts'").get()) {
        for (const r of db.prepare<[], { part: number; data: Buffer }>('SELECT part, data FROM head_parts').all()) m.putHeadPart(r.part, rowDigest(r.data, sealed));
      }
      for (const r of db.prepare<[], { bucket: number; part: number; samples: number; data: Buffer }>('SELECT bucket, part, samples, data FROM chunks').all()) {
        m.putChunk(r.bucket, r.part, r.samples, rowDigest(r.data, sealed));
      }
      for (const r of db.prepare<[], { seq: number; max_bucket: number; data: Buffer }>('SELECT seq, max_bucket, data FROM log').all()) m.putLog(r.seq, r.max_bucket, rowDigest(r.data, sealed));
      m.indexDirty = m.logDirty = true;
      this.manifest = m;
      this.flushManifest(db);
      this.setFormat(FORMAT_BEFORE_LOG_TAGS);
    })();
  }

  private loadManifest(): void {
    const read = (name: 'index' | 'log'): Buffer => {
      const row = this.stmts.manifest.get(name);
      if (!row) throw this.damaged(`manifest (${name})`, 'it is missing');
      if (name === 'index') this.indexRow = row.data;
      const plain = this.open(items.manifest(name), { keyId: row.key_id, data: row.data });
      return plain;
    };
    const decode = <T>(name: string, fn: () => T): T => {
      try {
        return fn();
      } catch (e) {
        throw this.damaged(`manifest (${name})`, (e as Error).message);
      }
    };
    const m = decode('index', () => Manifest.decodeIndex(read('index')));
    if (m.layout.bucketMs !== this.layout.bucketMs || m.layout.seriesPerPart !== this.layout.seriesPerPart) {
      throw this.damaged('meta', `the layout in clear (bucket ${this.layout.bucketMs} ms, ${this.layout.seriesPerPart} series per row) differs from the sealed one (${m.layout.bucketMs} ms, ${m.layout.seriesPerPart})`);
    }
    this.sealedLog = decode('log', () => Manifest.decodeLog(read('log')));
    this.manifest = m;
  }

  private putManifestStmt: Database.Statement | undefined;

  /** The sealed index manifest as last read (a reader beside a writer reads it again only when it changed). */
  private indexRow: Buffer | undefined;

  /**
   * For a read-only store opened beside the writing one (a query worker's connection): reads the
   * manifest again when the writer changed it since. Call inside read().
   */
  refreshManifest(): void {
    const row = this.stmts.manifest.get('index');
    if (row && this.indexRow?.equals(row.data)) return;
    this.loadManifest();
  }

  /** Runs `fn` in one read transaction: every row it reads is of one committed state of the file. */
  read<T>(fn: () => T): T {
    this.guard('a read', () => this.db.exec('BEGIN'));
    try {
      return fn();
    } finally {
      this.guard('a read', () => this.db.exec('COMMIT'));
    }
  }

  /** A copy of data key `id` for a query worker of this process that opens this file itself; the caller wipes it. */
  dataKey(id: number): Buffer {
    if (!this.keys) throw new Error('this store is not encrypted');
    return cipherKey(this.keys.get(id));
  }

  /** Set when a failed write left the manifest's view unknown: no more writes. */
  private unusable: unknown = null;

  /** The log summary from the sealed manifest, until the log rows were read and checked (logRows()). */
  private sealedLog: LogSummary | null = null;

  /** Seals the manifest rows again with the current key when either is sealed with another (data-key rotation). */
  resealManifest(): boolean {
    const current = this.currentKeyId;
    let resealed = false;
    for (const name of this.manifest.blobNames()) {
      const row = this.stmts.manifest.get(name);
      if (row && row.key_id !== current) (this.putBlob(name, this.blob(name)!), (resealed = true));
    }
    const stale = (['index', 'log'] as const).some((name) => this.stmts.manifest.get(name)?.key_id !== current);
    if (stale) this.transaction(() => void (this.manifest.indexDirty = this.manifest.logDirty = true));
    return stale || resealed;
  }

  /**
   * One sealed blob row (metric metadata, exemplars) beside the manifest rows, its digest in the
   * index manifest so a missing or older row is damage; null when none was ever written.
   */
  blob(name: BlobName): Buffer | null {
    const item = items.manifest(name);
    const row = this.stmts.manifest.get(name);
    const listed = this.manifest.blobTag(name);
    if (!row) {
      if (listed !== undefined) throw this.damaged(item.name, 'missing (listed in the manifest, not in the file)');
      return null;
    }
    const stored = { keyId: row.key_id, data: row.data };
    if (listed === undefined) throw this.damaged(item.name, 'the manifest does not list it');
    if (listed !== this.digest(stored)) throw this.damaged(item.name, 'it is not the version the manifest lists');
    return this.open(item, stored);
  }

  /** Replaces a blob row (its own transaction). */
  putBlob(name: BlobName, plain: Buffer): void {
    this.putBlobs([[name, plain]]);
  }

  /** Replaces (or, for null, deletes) several blob rows in one transaction. */
  putBlobs(changes: readonly (readonly [BlobName, Buffer | null])[]): void {
    this.transaction(() => {
      for (const [name, plain] of changes) {
        if (plain === null) {
          this.guard(`manifest (${name})`, () => this.db.prepare('DELETE FROM manifest WHERE name = ?').run(name));
          this.manifest.deleteBlob(name);
          continue;
        }
        const row = this.seal(items.manifest(name), plain);
        this.guard(`manifest (${name})`, () => this.db.prepare('INSERT OR REPLACE INTO manifest (name, key_id, data) VALUES (?, ?, ?)').run(name, row.keyId, row.data));
        this.manifest.putBlob(name, this.digest(row));
      }
    });
  }

  /** Writes the manifest rows that changed. Runs at the end of every transaction. */
  private flushManifest(db = this.db): void {
    const m = this.manifest;
    const put = (name: 'index' | 'log', plain: Buffer) => {
      const row = this.seal(items.manifest(name), plain);
      this.putManifestStmt ??= db.prepare('INSERT OR REPLACE INTO manifest (name, key_id, data) VALUES (?, ?, ?)');
      this.putManifestStmt.run(name, row.keyId, row.data);
    };
    if (m.indexDirty) put('index', m.encodeIndex());
    if (m.logDirty) put('log', m.encodeLog());
    m.indexDirty = m.logDirty = false;
  }

  get encrypted(): boolean {
    return this.keys !== null;
  }

  private aad(item: Item): string {
    return `${AAD_PREFIX}|ws=${this.workspaceId}|${item.aad}`;
  }

  private digest(row: StoredRow): number {
    return rowDigest(row.data, row.keyId !== PLAINTEXT_KEY_ID);
  }

  seal(item: Item, plain: Buffer): StoredRow {
    if (!this.keys) return { keyId: PLAINTEXT_KEY_ID, data: plain };
    const keyId = this.keys.current;
    return { keyId, data: this.keys.get(keyId).seal(plain, this.aad(item)) };
  }

  /** Decrypts a row; a failure is StoreDamaged naming the workspace, the file and the item. */
  open(item: Item, row: StoredRow): Buffer {
    if (!this.keys) {
      if (row.keyId !== PLAINTEXT_KEY_ID) throw this.damaged(item.name, `it is encrypted (key ${row.keyId}) but the store was opened without keys`);
      return row.data;
    }
    if (row.keyId === PLAINTEXT_KEY_ID) throw this.damaged(item.name, 'it is not encrypted although this store is');
    let cipher: Cipher;
    try {
      cipher = this.keys.get(row.keyId);
    } catch (e) {
      throw this.damaged(item.name, `its data key ${row.keyId} is not available (${(e as Error).message})`);
    }
    try {
      return cipher.open(row.data, this.aad(item));
    } catch (e) {
      throw this.damaged(item.name, `${(e as Error).message}; it was altered, or copied from another row or workspace`);
    }
  }

  /** Decodes an opened row's plaintext; a decoding failure is damage of that item too. */
  decode<T>(item: Item, fn: () => T): T {
    try {
      return fn();
    } catch (e) {
      if (e instanceof StoreDamaged) throw e;
      throw this.damaged(item.name, `its content cannot be decoded (${(e as Error).message})`);
    }
  }

  get currentKeyId(): number {
    return this.keys ? this.keys.current : PLAINTEXT_KEY_ID;
  }

  // ---- rows (reads are checked against the manifest) -----------------------------------------

  /** Every series page; throws StoreDamaged when one is missing, extra or not the one the manifest lists. */
  pages(): { page: number; keyId: number; data: Buffer }[] {
    const rows = this.stmts.pages.all().map((r) => this.listedPage(r));
    const listed = this.manifest.pages;
    if (rows.length !== listed.size) {
      const have = new Set(rows.map((r) => r.page));
      const gone = [...listed.keys()].filter((p) => !have.has(p));
      throw this.damaged(gone.map((p) => items.page(p).name).join(', '), 'missing (listed in the manifest, not in the file)');
    }
    return rows;
  }

  /** One series page as it is now, checked against the manifest; undefined when there is none. */
  page(page: number): { page: number; keyId: number; data: Buffer } | undefined {
    const r = this.stmts.page.get(page);
    if (r) return this.listedPage(r);
    if (this.manifest.pages.has(page)) throw this.damaged(items.page(page).name, 'missing (listed in the manifest, not in the file)');
    return undefined;
  }

  /** A page row, checked to be the version the manifest lists. */
  private listedPage(r: { page: number; key_id: number; data: Buffer }): { page: number; keyId: number; data: Buffer } {
    const row = { page: r.page, keyId: r.key_id, data: r.data };
    const tag = this.manifest.pages.get(r.page);
    if (tag === undefined) throw this.damaged(items.page(r.page).name, 'the manifest does not list it');
    if (tag !== this.digest(row)) throw this.damaged(items.page(r.page).name, 'it is not the version the manifest lists');
    return row;
  }

  putPage(page: number, row: StoredRow): void {
    this.inTransaction();
    this.stmts.putPage.run(page, row.keyId, row.data);
    this.manifest.putPage(page, this.digest(row));
  }

  deletePage(page: number): void {
    this.inTransaction();
    this.stmts.deletePage.run(page);
    this.manifest.deletePage(page);
  }

  /**
   * Every log record, its data only after sequence `dataAfter` (null up to it: the digests come
   * from their own index, so rows a checkpoint covers are not read); throws StoreDamaged when the
   * set differs from the sealed log summary, or a row read differs from its digest.
   */
  logRows(dataAfter = 0): { seq: number; keyId: number; data: Buffer | null }[] {
    const rows = this.stmts.logTags.all().map((r) => ({
      seq: r.seq,
      maxBucket: r.max_bucket,
      keyId: r.key_id,
      data: null as Buffer | null,
      tag: r.tag ?? rowDigest(r.plain ?? r.tail!, r.key_id !== PLAINTEXT_KEY_ID),
    }));
    const found = Manifest.summarizeLog(rows);
    const sealed = this.sealedLog ?? this.manifest.logSummary();
    if (found.count !== sealed.count || found.digest !== sealed.digest || found.maxSeq !== sealed.maxSeq) {
      const what =
        found.count < sealed.count
          ? `${sealed.count - found.count} of ${sealed.count} record(s) missing`
          : found.count > sealed.count
            ? `${found.count - sealed.count} record(s) more than the manifest lists`
            : 'a record or its bucket column differs from the one the manifest lists';
      throw this.damaged('log records', `${what} (newest record ${found.maxSeq}, manifest says ${sealed.maxSeq})`);
    }
    this.manifest.setLogRows(rows);
    this.sealedLog = null;
    let i = 0;
    for (const d of this.stmts.logData.all(dataAfter)) {
      while (i < rows.length && rows[i]!.seq < d.seq) i++;
      const r = rows[i];
      if (r?.seq !== d.seq || rowDigest(d.data, r.keyId !== PLAINTEXT_KEY_ID) !== r.tag) {
        throw this.damaged(items.log(d.seq).name, 'it differs from the digest beside it (altered, or swapped for another copy)');
      }
      r.data = d.data;
    }
    return rows;
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
    this.inTransaction();
    const tag = this.digest(row);
    this.stmts.putLog.run(seq, maxBucket, row.keyId, row.data, tag);
    this.manifest.putLog(seq, maxBucket, tag);
  }

  resealLog(seq: number, row: StoredRow): void {
    this.inTransaction();
    const tag = this.digest(row);
    this.stmts.resealLog.run(row.keyId, row.data, tag, seq);
    this.manifest.resealLog(seq, tag);
  }

  /** Deletes log records (up to `upToSeq`) whose samples all lie before `bucket`. */
  deleteLogBefore(bucket: number, upToSeq: number): void {
    this.inTransaction();
    this.stmts.deleteLogBefore.run(bucket, upToSeq);
    this.manifest.deleteLogBefore(bucket, upToSeq);
  }

  headState(): { seq: number; keyId: number; data: Buffer } | undefined {
    const rows = this.stmts.headState.all();
    const want = this.manifest.headState;
    const r = rows[0];
    if (rows.length > 1) throw this.damaged(items.headState(r!.seq).name, 'more than one head state in the file');
    if (!want && !r) return undefined;
    if (!r) throw this.damaged(items.headState(want!.seq).name, 'missing (listed in the manifest, not in the file)');
    const row = { seq: r.seq, keyId: r.key_id, data: r.data };
    if (!want || want.seq !== r.seq || want.tag !== this.digest(row)) throw this.damaged(items.headState(r.seq).name, 'it is not the one the manifest lists');
    return row;
  }

  putHeadState(seq: number, row: StoredRow): void {
    this.inTransaction();
    this.stmts.clearHeadState.run();
    this.stmts.putHeadState.run(seq, row.keyId, row.data);
    this.manifest.putHeadState(seq, this.digest(row));
  }

  /** Part `part` of head state `seq`'s samples, checked against the manifest. */
  headPart(seq: number, part: number): StoredRow {
    const name = items.headPart(seq, part).name;
    const want = this.manifest.headParts.get(part);
    if (want === undefined) throw this.damaged(name, 'the manifest does not list it');
    const r = this.hasHeadParts ? this.stmts.headPart.get(part) : undefined;
    if (!r) throw this.damaged(name, 'missing (listed in the manifest, not in the file)');
    const row = { keyId: r.key_id, data: r.data };
    if (want !== this.digest(row)) throw this.damaged(name, 'it is not the one the manifest lists');
    return row;
  }

  /**
   * The head state parts in the file (no data read), checked to be the `parts` numbered from `first`
   * that head state `seq` has, and every row to be one the manifest lists. Rows outside that range
   * are a checkpoint's that did not finish (written in turns; the next one deletes them).
   */
  headPartKeys(seq: number, first: number, parts: number): { part: number; keyId: number }[] {
    const rows = this.hasHeadParts ? this.stmts.headPartKeys.all() : [];
    const listed = this.manifest.headParts;
    const mine = rows.filter((r) => r.part >= first && r.part < first + parts);
    if (mine.length !== parts || rows.length !== listed.size || rows.some((r) => !listed.has(r.part))) {
      const held = rows.length ? ` (numbered ${rows[0]!.part} to ${rows.at(-1)!.part})` : '';
      throw this.damaged(items.headState(seq).name, `it has ${parts} parts of samples from number ${first}, the file holds ${mine.length} of them and ${rows.length} in all${held}, the manifest lists ${listed.size}`);
    }
    return mine.map((r) => ({ part: r.part, keyId: r.key_id }));
  }

  /** Drops every head state part outside [first, end): the last checkpoint's, or an unfinished one's. */
  deleteHeadPartsOutside(first: number, end: number): void {
    this.inTransaction();
    this.stmts.deleteHeadPartsOutside.run(first, end);
    this.manifest.deleteHeadPartsOutside(first, end);
  }

  putHeadPart(part: number, row: StoredRow): void {
    this.inTransaction();
    this.stmts.putHeadPart.run(part, row.keyId, row.data);
    this.manifest.putHeadPart(part, this.digest(row));
  }

  /** Compares the chunk rows in the file (keys and sample counts, no data read) with the manifest. */
  checkChunkList(): void {
    let n = 0;
    for (const r of this.stmts.chunkList.all()) {
      n++;
      const e = this.manifest.chunk(r.bucket, r.part);
      const item = items.chunk(r.bucket, r.part, this.layout).name;
      if (!e) throw this.damaged(item, 'the manifest does not list it');
      if (e.samples !== r.samples) throw this.damaged(item, `its sample count ${r.samples} differs from the manifest's ${e.samples}`);
    }
    let listed = 0;
    for (const m of this.manifest.chunks.values()) listed += m.size;
    if (n !== listed) {
      const have = new Set(this.stmts.chunkList.all().map((r) => `${r.bucket}/${r.part}`));
      const gone: string[] = [];
      for (const [part, m] of this.manifest.chunks) for (const b of m.keys()) if (!have.has(`${b}/${part}`)) gone.push(items.chunk(b, part, this.layout).name);
      throw this.damaged(gone.slice(0, 3).join('; ') || 'chunk rows', `${listed - n} chunk row(s) missing (listed in the manifest, not in the file)`);
    }
  }

  private checkChunk(r: ChunkRowRecord): ChunkRowRecord {
    const e = this.manifest.chunk(r.bucket, r.part);
    const item = items.chunk(r.bucket, r.part, this.layout).name;
    if (!e) throw this.damaged(item, 'the manifest does not list it');
    if (e.samples !== r.samples || e.tag !== this.digest(r)) throw this.damaged(item, 'it is not the version the manifest lists');
    return r;
  }

  chunk(bucket: number, part: number): ChunkRowRecord | undefined {
    const r = this.stmts.chunk.get(bucket, part);
    if (!r) {
      if (this.manifest.chunk(bucket, part)) throw this.damaged(items.chunk(bucket, part, this.layout).name, 'missing (listed in the manifest, not in the file)');
      return undefined;
    }
    return this.checkChunk({ bucket, part, keyId: r.key_id, samples: r.samples, data: r.data });
  }

  /** The chunk rows of one series group in [minBucket, maxBucket]; throws StoreDamaged when one the manifest lists is missing. */
  chunksOfPart(part: number, minBucket: number, maxBucket: number): ChunkRowRecord[] {
    const rows = this.stmts.chunksOfPart.all(part, minBucket, maxBucket).map((r) => this.checkChunk({ bucket: r.bucket, part, keyId: r.key_id, samples: r.samples, data: r.data }));
    const listed = this.manifest.bucketsOfPart(part, minBucket, maxBucket);
    if (listed.length !== rows.length) {
      const have = new Set(rows.map((r) => r.bucket));
      const gone = listed.filter((b) => !have.has(b));
      throw this.damaged(gone.slice(0, 3).map((b) => items.chunk(b, part, this.layout).name).join('; '), 'missing (listed in the manifest, not in the file)');
    }
    return rows;
  }

  /** The chunk rows the manifest lists for one series group in [minBucket, maxBucket], by bucket, without reading them. */
  listedChunks(part: number, minBucket: number, maxBucket: number): { bucket: number; samples: number; tag: number }[] {
    return this.manifest.bucketsOfPart(part, minBucket, maxBucket).sort((a, b) => a - b).map((bucket) => {
      const e = this.manifest.chunk(bucket, part)!;
      return { bucket, samples: e.samples, tag: e.tag };
    });
  }

  chunkKeys(): { bucket: number; part: number; keyId: number }[] {
    return this.stmts.chunkKeys.all().map((r) => ({ bucket: r.bucket, part: r.part, keyId: r.key_id }));
  }

  putChunk(bucket: number, part: number, samples: number, row: StoredRow): void {
    this.inTransaction();
    this.stmts.putChunk.run(bucket, part, row.keyId, samples, row.data);
    this.manifest.putChunk(bucket, part, samples, this.digest(row));
  }

  deleteChunk(bucket: number, part: number): void {
    this.inTransaction();
    this.stmts.deleteChunk.run(bucket, part);
    this.manifest.deleteChunk(bucket, part);
  }

  /** Deletes every bucket before `bucket`; returns the number of samples they held. */
  deleteBucketsBefore(bucket: number): number {
    this.inTransaction();
    const n = this.stmts.samplesBefore.get(bucket)?.n ?? 0;
    this.stmts.deleteBucketsBefore.run(bucket);
    this.manifest.deleteBucketsBefore(bucket);
    return n;
  }

  chunkSamples(): number {
    return this.stmts.totalSamples.get()?.n ?? 0;
  }

  maxLogSeq(): number {
    const s = this.sealedLog ?? this.manifest.logSummary();
    return Math.max(this.stmts.maxSeq.get()?.m ?? 0, s.maxSeq, this.manifest.headState?.seq ?? 0);
  }

  maxPage(): number {
    return Math.max(this.stmts.maxPage.get()?.m ?? 0, ...this.manifest.pages.keys());
  }

  private inTransaction(): void {
    if (!this.db.inTransaction) throw new Error('tsdb: rows are written inside storage.transaction() only (the manifest goes with them)');
  }

  /**
   * Like transaction(), but the commit does not wait for the fsync of the write-ahead log
   * (synchronous=NORMAL for this one commit): the caller must await syncLog() before it tells
   * anyone the rows are durable. The fsync then runs on libuv's thread pool, so the event loop
   * keeps decoding the next requests meanwhile, and one fsync covers every commit made before it.
   * Maintenance commits its steps in turns so too, the last (the head state) synced: SQLite's log
   * is written in order, so a durable commit makes every commit before it durable, and a crash
   * loses only a run of the latest ones, which maintenance stopped at any turn already survives.
   */
  transactionUnsynced<T>(fn: () => T): T {
    // Inside another transaction its own commit decides (SQLite refuses the switch there anyway).
    if (this.db.inTransaction) return this.transaction(fn);
    // exec each time: SQLite applies this pragma when it compiles it, so a prepared one would not switch back and forth.
    this.db.exec('PRAGMA synchronous = NORMAL');
    try {
      return this.transaction(fn);
    } finally {
      this.db.exec('PRAGMA synchronous = FULL');
    }
  }

  /** Resolves once every commit made before the call is on disk (fsync of the SQLite WAL file). */
  syncLog(): Promise<void> {
    if (this.unusable) return Promise.reject(this.unusable);
    // A sync already queued starts after this call: it covers this caller's commits too.
    if (this.queuedSync) return this.queuedSync;
    if (this.runningSync) {
      const queued: Promise<void> = this.runningSync.catch(() => {}).then(() => {
        this.queuedSync = null;
        return this.startSync();
      });
      this.queuedSync = queued;
      return queued;
    }
    return this.startSync();
  }

  private startSync(): Promise<void> {
    // The first time also the folder, so the log file's own entry is durable (as SQLite's FULL does).
    const dir = this.dirSynced ? Promise.resolve() : fsyncDirectory(dirname(this.path));
    this.dirSynced = true;
    this.wal ??= new SyncedFile(`${this.path}-wal`);
    const running: Promise<void> = Promise.all([dir, this.wal.sync()]).then(
      () => {
        if (this.runningSync === running) this.runningSync = null;
      },
      (e: unknown) => {
        if (this.runningSync === running) this.runningSync = null;
        // What reached the disk is unknown now: no more writes (as after a failed rollback).
        this.unusable = new StoreError('io', this.workspaceId, this.file, 'the write-ahead log', `fsync failed: ${(e as Error).message}`);
        throw this.unusable;
      },
    );
    this.runningSync = running;
    return running;
  }

  private dirSynced = false;
  private wal: SyncedFile | null = null;
  private runningSync: Promise<void> | null = null;
  private queuedSync: Promise<void> | null = null;

  /** Runs `fn` in one SQLite transaction and writes the manifest with it. */
  transaction<T>(fn: () => T): T {
    if (this.unusable) throw this.unusable;
    const outermost = !this.db.inTransaction;
    try {
      return this.guard('a write', () =>
        this.db.transaction(() => {
          const r = fn();
          this.flushManifest();
          return r;
        })(),
      );
    } catch (e) {
      // The rows were rolled back: so must the manifest's view of them be.
      if (outermost) {
        try {
          this.loadManifest();
          this.logRows(Infinity);
        } catch (reload) {
          this.unusable = reload;
        }
      }
      throw e;
    }
  }

  /** A checkpoint found a reader in the way: the WAL (which may hold freed ciphertext) is still to be folded. */
  private checkpointOwed = false;

  /**
   * Returns freed pages to the file system and folds the SQLite WAL into the main file. A query
   * worker's read transaction on an older state stops the fold: then it is not waited for (the
   * ingest thread must not stall) but owed, and done by the next shrink() or shrinkIfOwed().
   */
  shrink(): void {
    this.guard('a checkpoint', () => {
      this.db.pragma('incremental_vacuum');
      const timeout = this.db.pragma('busy_timeout', { simple: true }) as number;
      this.db.pragma('busy_timeout = 0');
      try {
        const [r] = this.db.pragma('wal_checkpoint(TRUNCATE)') as { busy: number }[];
        this.checkpointOwed = r?.busy === 1;
      } finally {
        this.db.pragma(`busy_timeout = ${timeout}`);
      }
    });
  }

  /** Returns up to `pages` freed pages to the file system (a shrink in steps); true while more are free. */
  vacuumSome(pages: number): boolean {
    return this.guard('a checkpoint', () => {
      this.db.pragma(`incremental_vacuum(${Math.max(1, Math.floor(pages))})`);
      return (this.db.pragma('freelist_count', { simple: true }) as number) > 0;
    });
  }

  shrinkIfOwed(): void {
    if (this.checkpointOwed) this.shrink();
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
    rowCache.forget(this);
    this.db.close();
    this.wal?.close();
  }
}

/**
 * fsync of one file through a handle kept open (one thread-pool job per sync). SQLite keeps its
 * log file while a connection is open (a checkpoint truncates it in place), but every 32nd sync
 * also checks that the path still names the file synced, and syncs the new one if not.
 */
class SyncedFile {
  private handle: Promise<FileHandle | null> | null = null;
  /** The handle once open: a sync through it is handed to the thread pool at once, not after an await. */
  private opened: FileHandle | null = null;
  private syncs = 0;

  constructor(private readonly path: string) {}

  sync(): Promise<void> {
    const fh = this.opened;
    if (fh !== null && ++this.syncs % 32 !== 0) return fh.sync();
    return this.checkedSync();
  }

  private async checkedSync(): Promise<void> {
    const handle = (this.handle ??= openIfThere(this.path));
    const fh = await handle;
    if (fh === null) {
      this.handle = null; // not made yet: nothing written to it to sync
      return;
    }
    if (this.handle === handle) this.opened = fh; // not if closed meanwhile
    const [, mine, there] = await Promise.all([fh.sync(), fh.stat(), stat(this.path).catch(() => null)]);
    if (there === null || there.ino === mine.ino) return;
    this.handle = this.opened = null;
    this.syncs = 0;
    void fh.close().catch(() => {});
    await this.checkedSync();
  }

  close(): void {
    const h = this.handle;
    this.handle = this.opened = null;
    void h?.then((fh) => fh?.close()).catch(() => {});
  }
}

async function openIfThere(path: string): Promise<FileHandle | null> {
  try {
    return await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw e;
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
  headPart: (seq: number, part: number): Item => ({ aad: `head_state|seq=${seq}|part=${part}`, name: `head state ${seq}, samples part ${part}` }),
  manifest: (name: string): Item => ({ aad: `manifest|${name}`, name: `manifest (${name})` }),
  chunk: (bucket: number, part: number, layout: Layout): Item => ({
    aad: `chunks|bucket=${bucket}|part=${part}`,
    name:
      `chunk row for ${isoTime(bucket * layout.bucketMs)} (bucket ${bucket}), ` +
      `series ids ${part * layout.seriesPerPart}-${(part + 1) * layout.seriesPerPart - 1} (part ${part})`,
  }),
};

/** A bucket's start for error messages (a damaged bucket number may lie outside Date's range). */
function isoTime(ms: number): string {
  const d = new Date(ms);
  return Number.isNaN(d.getTime()) ? `${ms} ms` : d.toISOString();
}

/** fsync of a file by path (a fresh handle, so a WAL SQLite recreated is still the one synced); none there: nothing to sync. */
async function fsyncFile(path: string): Promise<void> {
  let fh;
  try {
    fh = await open(path, 'r');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return;
    throw e;
  }
  try {
    await fh.sync();
  } finally {
    await fh.close();
  }
}

/** fsync of a folder (its entries); Windows cannot open one and journals its metadata itself. */
async function fsyncDirectory(path: string): Promise<void> {
  if (process.platform === 'win32') return;
  await fsyncFile(path);
}
