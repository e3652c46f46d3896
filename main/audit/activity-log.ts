// The activity log (local CloudTrail): append-only, hash-chained records in the control database.
//
// Clear columns are what the window filters on and holds no customer data: time, action, outcome,
// workspace id, count. Who did it and the detail are sealed (AES-256-GCM, AAD = record number).
// Each record carries chain = HMAC(chainKey, previous chain ‖ record) and tag = HMAC(chainKey,
// record without its number); a head row (HMAC'd too) remembers the last record, so verify() can
// name the first record that was edited, deleted, reordered or inserted — including at the end.
//
// Failures arriving from the network (bad tokens, console logins) go through appendAggregated():
// one record per (workspace, action, outcome, reason) per minute with a count, and a bounded
// number of distinct keys per minute, so a flood cannot fill the disk.
import type Database from 'better-sqlite3';
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { ActivityEntry, ActivityFilter, ActivityOutcome, ActivityPage, ChainVerification } from '../../shared/api';
import { detectSensitive } from '../../shared/sensitive-data';
import type { ActivityEvent, ActivitySink } from '../control/types';
import type { ActivityKeys } from './log-key';

export interface ActivityInput {
  readonly action: string;
  readonly outcome: ActivityOutcome;
  /** 'cli', 'desktop', 'console:admin', 'token:<id>', or a remote address. */
  readonly actor: string;
  readonly workspaceId?: string | null;
  /** Short and secret-free; anything that looks like a secret is withheld. */
  readonly detail?: string;
}

export interface ActivityQuery extends ActivityFilter {
  /** Unix ms, inclusive. */
  readonly since?: number;
  /** Unix ms, exclusive. */
  readonly until?: number;
}

/** One record as exported (`ampule audit export`). */
export interface ActivityExportRecord extends ActivityEntry {
  readonly count: number;
  /** Hex of this record's chain value. */
  readonly chain: string;
}

export interface ActivityLog extends ActivitySink {
  append(e: ActivityInput): number;
  /** Counts repeats of (workspace, action, outcome, detail) per minute into one record. */
  appendAggregated(e: ActivityInput): void;
  /** Writes pending aggregates now (also done each minute and on close). */
  flush(): void;
  list(q: ActivityQuery): ActivityPage;
  /** Oldest first. */
  exportRecords(q?: { since?: number; until?: number }): Iterable<ActivityExportRecord>;
  verify(): ChainVerification;
  /**
   * verify() a page of records a turn of the event loop, so a long log does not hold up the thread
   * it shares (ingest); judged against the head as it was when it started: what is appended
   * meanwhile is left to the next run. With `since` (a point an earlier run found intact, see
   * chainPoint), only the records after it are checked, unless that record's chain value changed.
   */
  verifyInTurns(recordsPerTurn?: number, since?: ChainPoint): Promise<ChainVerification>;
  /** The last record's number and chain value now (a later run can start there). */
  chainPoint(): ChainPoint;
  close(): void;
}

export interface ActivityLogOptions {
  readonly now?: () => number;
  /** Distinct aggregate keys per minute before further ones fold into one 'other' record. */
  readonly maxAggregateKeys?: number;
  /** Set false in tests that drive time by hand. */
  readonly timer?: boolean;
}

const WORKSPACE_ID = /^ws-[A-Za-z0-9-]{1,64}$/;
/** Failures a stranger can cause at will: counted per minute, not written one by one. */
const NETWORK_DRIVEN = /^(?:token\.verify|auth\.|console\.login|console\.csrf|http\.auth)/;
const ACTION = /^[a-z][a-z0-9_.-]{0,63}$/;
const MAX_DETAIL = 512;
const GENESIS = 'ampule/activity-log/genesis/v1';

/** A record of the chain (seq 0: before the first) and its chain value. */
export interface ChainPoint {
  readonly seq: number;
  readonly chain: Buffer;
}

interface HeadRow {
  readonly seq: number;
  readonly chain: Buffer;
  readonly tag: Buffer;
}

interface Row {
  seq: number;
  at: number;
  action: string;
  outcome: string;
  workspace_id: string | null;
  count: number;
  sealed: Buffer;
  chain: Buffer;
  tag: Buffer;
}

function ensureSchema(db: Database.Database): void {
  db.exec(`
    CREATE TABLE IF NOT EXISTS activity_log (
      seq INTEGER PRIMARY KEY,
      at INTEGER NOT NULL,
      action TEXT NOT NULL,
      outcome TEXT NOT NULL,
      workspace_id TEXT,
      count INTEGER NOT NULL,
      sealed BLOB NOT NULL,
      chain BLOB NOT NULL,
      tag BLOB NOT NULL
    ) STRICT;
    CREATE INDEX IF NOT EXISTS activity_log_by_workspace ON activity_log (workspace_id, seq);
    CREATE TABLE IF NOT EXISTS activity_head (id INTEGER PRIMARY KEY CHECK (id = 1), seq INTEGER NOT NULL, chain BLOB NOT NULL, tag BLOB NOT NULL) STRICT;
  `);
}

/** Redacts what must never be logged: anything that looks like a token, key or secret. */
export function scrubDetail(detail: string): string {
  let d = detail.length > MAX_DETAIL ? detail.slice(0, MAX_DETAIL) + '…' : detail;
  d = d.replace(/amp_[A-Za-z0-9_-]{8,}/g, 'amp_[withheld]');
  const risky = detectSensitive(d).filter((x) => x.kind === 'secret' || x.kind === 'jwt' || x.kind === 'private_key' || x.kind === 'aws_access_key');
  return risky.length ? `[detail withheld: it looked like it held a ${risky[0]!.kind.replace('_', ' ')}]` : d;
}

function detailsOf(e: ActivityEvent): string {
  return Object.entries(e.details ?? {})
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(', ');
}

export function openActivityLog(db: Database.Database, keys: ActivityKeys, opts: ActivityLogOptions = {}): ActivityLog {
  ensureSchema(db);
  const now = opts.now ?? Date.now;
  const maxKeys = opts.maxAggregateKeys ?? 256;
  const mac = (...parts: (string | Buffer)[]) => {
    const h = createHmac('sha256', keys.chainKey);
    for (const p of parts) {
      const b = typeof p === 'string' ? Buffer.from(p, 'utf8') : p;
      const len = Buffer.alloc(4);
      len.writeUInt32BE(b.length);
      h.update(len).update(b);
    }
    return h.digest();
  };
  const genesis = mac(GENESIS);
  const body = (r: Omit<Row, 'seq' | 'chain' | 'tag'>) => [String(r.at), r.action, r.outcome, r.workspace_id ?? '', String(r.count), r.sealed] as const;
  const headTag = (seq: number, chain: Buffer) => mac('head', String(seq), chain);

  /**
   * The chain checked one record at a time, in seq order, from the one after `start` (found intact
   * before), then against the log head (verify and verifyInTurns).
   */
  const chainCheck = (start: ChainPoint = { seq: 0, chain: genesis }) => {
    let prev: Buffer = start.chain;
    let expected = start.seq + 1;
    const fail = (seq: number, message: string): ChainVerification => ({ ok: false, checked: expected - 1, brokenAtSeq: seq, message });
    return {
      record(r: Row): ChainVerification | null {
        if (r.seq !== expected) {
          return fail(expected, r.seq > expected
            ? `record ${expected}${r.seq - 1 > expected ? `–${r.seq - 1}` : ''} is missing (deleted)`
            : `record ${r.seq} is out of sequence`);
        }
        const fields = body(r);
        if (!equal(r.tag, mac(...fields))) return fail(r.seq, `record ${r.seq} was edited or inserted: its contents do not match its authentication tag`);
        if (!equal(r.chain, mac(prev, String(r.seq), ...fields))) return fail(r.seq, `record ${r.seq} is out of place: it was moved, duplicated, or a record before it was replaced`);
        prev = r.chain;
        expected++;
        return null;
      },
      /** `appendedBeyond`: records after the head that no log appended. */
      end(head: HeadRow | undefined, appendedBeyond: boolean): ChainVerification {
        const checked = expected - 1;
        if (!head) return fail(1, 'the log head is missing: the log was emptied or tampered with');
        if (!equal(head.tag, headTag(head.seq, head.chain))) return fail(Math.min(head.seq, expected), 'the log head was edited');
        if (head.seq > checked) return fail(checked + 1, `record ${checked + 1}${head.seq > checked + 1 ? `–${head.seq}` : ''} at the end is missing (deleted)`);
        if (head.seq < checked || appendedBeyond) return fail(head.seq + 1, `record ${head.seq + 1} was appended outside Ampule`);
        if (!equal(head.chain, prev)) return fail(head.seq, `record ${head.seq} does not match the log head`);
        if (checked === 0) return { ok: true, checked, brokenAtSeq: null, message: 'the activity log is intact and has no records yet' };
        return { ok: true, checked, brokenAtSeq: null, message: `all ${checked} records are intact and in order` };
      },
    };
  };

  const insert = db.prepare(`INSERT INTO activity_log (seq, at, action, outcome, workspace_id, count, sealed, chain, tag) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const readHead = db.prepare(`SELECT seq, chain, tag FROM activity_head WHERE id = 1`);
  const writeHead = db.prepare(`INSERT INTO activity_head (id, seq, chain, tag) VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET seq = excluded.seq, chain = excluded.chain, tag = excluded.tag`);

  // Run with .immediate: another process (a CLI command beside `ampule serve`) may append too, and
  // taking the write lock first makes it wait its turn instead of failing on a stale head.
  const appendRow = db.transaction((at: number, action: string, outcome: ActivityOutcome, ws: string | null, count: number, actor: string, detail: string) => {
    const head = readHead.get() as { seq: number; chain: Buffer } | undefined;
    const seq = (head?.seq ?? 0) + 1;
    const sealed = keys.details.seal(Buffer.from(JSON.stringify({ actor, detail }), 'utf8'), `activity:${seq}`);
    const fields = { at, action, outcome, workspace_id: ws, count, sealed };
    const chain = mac(head?.chain ?? genesis, String(seq), ...body(fields));
    insert.run(seq, at, action, outcome, ws, count, sealed, chain, mac(...body(fields)));
    writeHead.run(seq, chain, headTag(seq, chain));
    return seq;
  });

  // A new log gets its head (record 0) at once: from then on a missing head means the log was emptied.
  if (keys.fresh && !readHead.get()) writeHead.run(0, genesis, headTag(0, genesis));

  const clean = (e: ActivityInput) => {
    if (!ACTION.test(e.action)) throw new RangeError(`activity action '${e.action.slice(0, 64)}' is not a valid action name`);
    const ws = e.workspaceId && WORKSPACE_ID.test(e.workspaceId) ? e.workspaceId : null;
    return { ws, actor: scrubDetail(e.actor.slice(0, 128)), detail: scrubDetail(e.detail ?? '') };
  };

  // Aggregation of network-driven failures, per minute.
  let bucketMinute = -1;
  const pending = new Map<string, { e: ActivityInput; ws: string | null; detail: string; at: number; count: number; actors: Set<string> }>();
  const flush = () => {
    const items = [...pending.values()];
    pending.clear();
    for (const p of items) {
      const actors = p.actors.size > 1 ? `${[...p.actors][0]} and ${p.actors.size - 1} other(s)` : [...p.actors][0] ?? '';
      appendRow.immediate(p.at, p.e.action, p.e.outcome, p.ws, p.count, actors, p.count > 1 ? `${p.detail} (×${p.count} in this minute)` : p.detail);
    }
  };
  const timer = opts.timer === false ? null : setInterval(() => {
    if (pending.size && Math.floor(now() / 60_000) !== bucketMinute) flush();
  }, 15_000);
  timer?.unref();

  const toEntry = (r: Row): ActivityExportRecord => {
    let actor = '', detail = '';
    try {
      const opened = JSON.parse(keys.details.open(r.sealed, `activity:${r.seq}`).toString('utf8')) as { actor: string; detail: string };
      actor = opened.actor;
      detail = opened.detail;
    } catch {
      detail = '[unreadable: this record was altered or moved]';
    }
    return {
      seq: r.seq,
      time: new Date(r.at).toISOString(),
      actor,
      action: r.action,
      outcome: r.outcome as ActivityOutcome,
      workspaceId: r.workspace_id,
      detail,
      count: r.count,
      chain: r.chain.toString('hex'),
    };
  };

  const where = (q: ActivityQuery, params: unknown[]) => {
    const cond: string[] = [];
    if (q.workspaceId) (cond.push('workspace_id = ?'), params.push(q.workspaceId));
    if (q.action) (cond.push(`action >= ? AND action < ?`), params.push(q.action, q.action + '\uffff'));
    if (q.outcome) (cond.push('outcome = ?'), params.push(q.outcome));
    if (q.since !== undefined) (cond.push('at >= ?'), params.push(q.since));
    if (q.until !== undefined) (cond.push('at < ?'), params.push(q.until));
    if (q.before !== undefined) (cond.push('seq < ?'), params.push(q.before));
    return cond.length ? 'WHERE ' + cond.join(' AND ') : '';
  };

  const append = (e: ActivityInput): number => {
    const c = clean(e);
    return appendRow.immediate(now(), e.action, e.outcome, c.ws, 1, c.actor, c.detail);
  };

  const appendAggregated = (e: ActivityInput): void => {
    const t = now();
    const minute = Math.floor(t / 60_000);
    if (minute !== bucketMinute) {
      flush();
      bucketMinute = minute;
    }
    const c = clean(e);
    let key = `${c.ws}\u0000${e.action}\u0000${e.outcome}\u0000${c.detail}`;
    let entry = pending.get(key);
    if (!entry && pending.size >= maxKeys) {
      key = `other\u0000${e.action}\u0000${e.outcome}`;
      entry = pending.get(key);
      if (!entry) {
        entry = { e, ws: null, detail: 'various reasons and workspaces (too many distinct failures to list)', at: t, count: 0, actors: new Set() };
        pending.set(key, entry);
      }
    }
    if (!entry) {
      entry = { e, ws: c.ws, detail: c.detail, at: t, count: 0, actors: new Set() };
      pending.set(key, entry);
    }
    entry.count++;
    if (entry.actors.size < 16) entry.actors.add(c.actor);
  };

  return {
    append,

    appendAggregated,

    record(e: ActivityEvent) {
      const failed = e.outcome !== 'success';
      const input: ActivityInput = {
        action: e.action,
        outcome: !failed ? 'ok' : NETWORK_DRIVEN.test(e.action) ? 'denied' : 'error',
        actor: e.actor,
        workspaceId: e.workspaceId ?? null,
        detail: detailsOf(e),
      };
      if (failed && NETWORK_DRIVEN.test(e.action)) appendAggregated(input);
      else append(input);
    },

    flush,

    list(q) {
      const params: unknown[] = [];
      const limit = Math.max(1, Math.min(q.limit ?? 100, 500));
      const rows = db.prepare(`SELECT * FROM activity_log ${where(q, params)} ORDER BY seq DESC LIMIT ?`).all(...params, limit + 1) as Row[];
      const more = rows.length > limit;
      const page = rows.slice(0, limit).map((r) => {
        const { count: _c, chain: _h, ...entry } = toEntry(r);
        return entry;
      });
      return { entries: page, nextBefore: more ? page[page.length - 1]!.seq : null };
    },

    *exportRecords(q = {}) {
      const params: unknown[] = [];
      const stmt = db.prepare(`SELECT * FROM activity_log ${where(q, params)} ORDER BY seq`);
      for (const r of stmt.iterate(...params) as Iterable<Row>) yield toEntry(r);
    },

    verify() {
      const check = chainCheck();
      for (const r of db.prepare(`SELECT * FROM activity_log ORDER BY seq`).iterate() as Iterable<Row>) {
        const failed = check.record(r);
        if (failed) return failed;
      }
      return check.end(readHead.get() as HeadRow | undefined, false);
    },

    async verifyInTurns(recordsPerTurn = 500, since?: ChainPoint) {
      const start = readHead.get() as HeadRow | undefined;
      const last = start?.seq ?? Infinity;
      const page = db.prepare(`SELECT * FROM activity_log WHERE seq > ? AND seq <= ? ORDER BY seq LIMIT ?`);
      // From `since` only while its record is as it was (else the whole chain names what changed).
      const kept = since && since.seq > 0 && since.seq <= last ? (db.prepare(`SELECT chain FROM activity_log WHERE seq = ?`).get(since.seq) as { chain: Buffer } | undefined) : undefined;
      const from = kept && equal(kept.chain, since!.chain) ? since : undefined;
      const check = chainCheck(from);
      let after = from?.seq ?? -Infinity;
      for (;;) {
        const rows = page.all(after, last, recordsPerTurn) as Row[];
        for (const r of rows) {
          const failed = check.record(r);
          if (failed) return failed;
        }
        if (rows.length < recordsPerTurn) break;
        after = rows[rows.length - 1]!.seq;
        await new Promise((r) => setImmediate(r));
      }
      // Records past the start's head while the head stayed put were not appended by a log.
      const now = readHead.get() as HeadRow | undefined;
      const unmoved = !!start && !!now && now.seq === start.seq && equal(now.chain, start.chain);
      const beyond = unmoved && db.prepare(`SELECT 1 FROM activity_log WHERE seq > ? LIMIT 1`).get(last) !== undefined;
      return check.end(start, beyond);
    },

    chainPoint() {
      const head = readHead.get() as HeadRow | undefined;
      return head ? { seq: head.seq, chain: head.chain } : { seq: 0, chain: genesis };
    },

    close() {
      if (timer) clearInterval(timer);
      flush();
    },
  };
}

function equal(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
