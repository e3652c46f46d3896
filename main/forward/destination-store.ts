// A workspace's forwarding destinations in control.db (migration 7), each sealed with the
// workspace's data key: the URL is customer data and the credentials are secrets, so neither is in
// clear. Beside each definition its queue position, sealed on its own (it is rewritten after every
// acknowledged batch, the definition only when the user changes it). A sealed position cannot be
// forged; an older copy put back only makes the forwarder send some batches again, never skip any.
import type Database from 'better-sqlite3';
import { randomBytes } from 'node:crypto';
import type { DataKeys } from '../control/data-keys';
import { ControlError } from '../control/types';
import { describeDestination, parseDestination, type Destination } from './destination';

/** Where a destination's reading of the committed log stands. */
export interface QueuePosition {
  /** The first log sequence not yet acknowledged by the receiver: reading resumes here. */
  readonly seq: number;
  /** Newest sample timestamp (ms) acknowledged, for the lag; null before the first. */
  readonly ackedMaxT: number | null;
  /** A backfill ("send everything since T") still to do before the log: [from, to) in ms; `next` is where it resumes. */
  readonly backfill?: { readonly from: number; readonly to: number; readonly next: number };
  /**
   * The shard count and, per shard, [log sequence, sample index] of the last sample acknowledged:
   * on resume with the same count, samples at or before their shard's frontier are skipped.
   * `sent`, per shard, is the last sample of the batch sent but not acknowledged when this was
   * written: the receiver may hold it, so on resume the samples up to it go in batches of their
   * own (a receiver refuses a whole batch that repeats older samples; see DestinationQueue).
   */
  readonly shards?: { readonly count: number; readonly frontiers: readonly (readonly [number, number])[]; readonly sent?: readonly (readonly [number, number])[] };
}

export interface DestinationInfo {
  readonly id: string;
  readonly workspaceId: string;
  readonly name: string;
  readonly createdAt: string;
  readonly modifiedAt: string;
  /** The definition without credentials. */
  readonly definition: Record<string, unknown>;
}

interface Row {
  id: string;
  workspace_id: string;
  generation: number;
  sealed: Buffer;
  created_at: string;
  modified_at: string;
  position_generation: number | null;
  position_sealed: Buffer | null;
}

export const MAX_DESTINATIONS_PER_WORKSPACE = 10;
export const MAX_DEFINITION_BYTES = 256 * 1024;
const defAad = (ws: string, id: string) => `ampule/forward/destination/${ws}/${id}`;
const posAad = (ws: string, id: string) => `ampule/forward/position/${ws}/${id}`;
const ID = /^fwd-[0-9a-f]{16}$/;

export type DestinationChangeListener = (workspaceId: string, destinationId: string) => void;
const listeners = new WeakMap<object, Set<DestinationChangeListener>>();

/** Hears every destination added, changed or removed through `db` (the forwarder restarts that destination). */
export function onDestinationChange(db: object, l: DestinationChangeListener): () => void {
  let set = listeners.get(db);
  if (!set) listeners.set(db, (set = new Set()));
  set.add(l);
  return () => set.delete(l);
}

export class DestinationStore {
  constructor(
    private readonly db: Database.Database,
    private readonly keysOf: (workspaceId: string) => DataKeys,
    private readonly now: () => number = Date.now,
  ) {}

  private announce(ws: string, id: string): void {
    for (const l of listeners.get(this.db) ?? []) l(ws, id);
  }

  private rows(workspaceId: string): Row[] {
    return this.db.prepare(`SELECT * FROM forward_destinations WHERE workspace_id = ? ORDER BY created_at, id`).all(workspaceId) as Row[];
  }

  private row(workspaceId: string, ref: string): Row {
    const rows = this.rows(workspaceId);
    const r = ID.test(ref) ? rows.find((x) => x.id === ref) : rows.find((x) => this.nameOf(x) === ref);
    if (!r) throw new ControlError('not_found', `workspace ${workspaceId} has no forwarding destination ${JSON.stringify(ref)}`, 'destination');
    return r;
  }

  private text(r: Row): string {
    return this.keysOf(r.workspace_id).get(r.generation).open(r.sealed, defAad(r.workspace_id, r.id)).toString('utf8');
  }

  private nameOf(r: Row): string {
    return parseDestination(this.text(r)).name ?? r.id;
  }

  private info(r: Row, d: Destination): DestinationInfo {
    return { id: r.id, workspaceId: r.workspace_id, name: d.name ?? r.id, createdAt: r.created_at, modifiedAt: r.modified_at, definition: describeDestination(d) };
  }

  /**
   * Adds a destination (DestinationError, nothing stored, when the definition is invalid). It
   * starts at `start`: the log's next sequence (only what is committed from now on), with an
   * optional backfill of history before it.
   */
  add(workspaceId: string, text: string, start: QueuePosition): DestinationInfo {
    const d = parseDestination(text);
    const keys = this.keysOf(workspaceId);
    const now = new Date(this.now()).toISOString();
    const id = `fwd-${randomBytes(8).toString('hex')}`;
    const info = this.db.transaction(() => {
      const rows = this.rows(workspaceId);
      if (rows.length >= MAX_DESTINATIONS_PER_WORKSPACE) throw new ControlError('invalid', `a workspace has at most ${MAX_DESTINATIONS_PER_WORKSPACE} forwarding destinations`, 'destination');
      if (d.name !== undefined && rows.some((r) => this.nameOf(r) === d.name)) throw new ControlError('conflict', `workspace ${workspaceId} already has a destination named ${JSON.stringify(d.name)}`, 'name');
      const sealed = keys.get(keys.current).seal(Buffer.from(text, 'utf8'), defAad(workspaceId, id));
      const pos = keys.get(keys.current).seal(Buffer.from(JSON.stringify(start)), posAad(workspaceId, id));
      this.db
        .prepare(`INSERT INTO forward_destinations (id, workspace_id, generation, sealed, created_at, modified_at, position_generation, position_sealed) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`)
        .run(id, workspaceId, keys.current, sealed, now, now, keys.current, pos);
      return this.info({ id, workspace_id: workspaceId, generation: keys.current, sealed, created_at: now, modified_at: now, position_generation: null, position_sealed: null }, d);
    }).immediate();
    this.announce(workspaceId, id);
    return info;
  }

  /** Replaces a destination's definition; its queue position stays (nothing is skipped or sent twice). */
  update(workspaceId: string, ref: string, text: string): DestinationInfo {
    const d = parseDestination(text);
    const keys = this.keysOf(workspaceId);
    const now = new Date(this.now()).toISOString();
    const info = this.db.transaction(() => {
      const r = this.row(workspaceId, ref);
      if (d.name !== undefined && this.rows(workspaceId).some((x) => x.id !== r.id && this.nameOf(x) === d.name)) {
        throw new ControlError('conflict', `workspace ${workspaceId} already has a destination named ${JSON.stringify(d.name)}`, 'name');
      }
      const sealed = keys.get(keys.current).seal(Buffer.from(text, 'utf8'), defAad(workspaceId, r.id));
      this.db.prepare(`UPDATE forward_destinations SET generation = ?, sealed = ?, modified_at = ? WHERE id = ?`).run(keys.current, sealed, now, r.id);
      // New relabelling may send a series to another shard: the per-shard frontiers no longer apply.
      const { shards: _dropped, ...pos } = this.position(workspaceId, r.id);
      this.setPosition(workspaceId, r.id, pos);
      return this.info({ ...r, generation: keys.current, sealed, modified_at: now }, d);
    }).immediate();
    this.announce(workspaceId, info.id);
    return info;
  }

  remove(workspaceId: string, ref: string): DestinationInfo {
    const r = this.row(workspaceId, ref);
    const info = this.info(r, parseDestination(this.text(r)));
    this.db.prepare(`DELETE FROM forward_destinations WHERE id = ?`).run(r.id);
    this.announce(workspaceId, r.id);
    return info;
  }

  list(workspaceId: string): DestinationInfo[] {
    return this.rows(workspaceId).map((r) => this.info(r, parseDestination(this.text(r))));
  }

  describe(workspaceId: string, ref: string): DestinationInfo {
    const r = this.row(workspaceId, ref);
    return this.info(r, parseDestination(this.text(r)));
  }

  /** The definition with its credentials, for the forwarder only. */
  definition(workspaceId: string, id: string): Destination {
    return parseDestination(this.text(this.row(workspaceId, id)));
  }

  /** Workspaces with at least one destination. */
  workspaces(): string[] {
    return (this.db.prepare(`SELECT DISTINCT workspace_id AS w FROM forward_destinations`).all() as { w: string }[]).map((r) => r.w);
  }

  position(workspaceId: string, id: string): QueuePosition {
    const r = this.row(workspaceId, id);
    if (r.position_sealed === null || r.position_generation === null) return { seq: 0, ackedMaxT: null };
    return JSON.parse(this.keysOf(workspaceId).get(r.position_generation).open(r.position_sealed, posAad(workspaceId, id)).toString('utf8')) as QueuePosition;
  }

  /**
   * Persists the position (called after the receiver acknowledged what lies before it); false when
   * the destination is gone. Written after every acknowledged batch, so without waiting for the fsync (synchronous=NORMAL
   * for this one statement): SQLite's WAL is written before the call returns, so a kill -9 keeps it;
   * a power loss may keep an older position, which only sends again what was already acknowledged
   * (never skips). The next synchronous commit on control.db makes it durable too. (Measured: the
   * fsync per acknowledgement was the largest single cost of forwarding.)
   */
  setPosition(workspaceId: string, id: string, p: QueuePosition): boolean {
    const keys = this.keysOf(workspaceId);
    const sealed = keys.get(keys.current).seal(Buffer.from(JSON.stringify(p)), posAad(workspaceId, id));
    const update = (this.updatePosition ??= this.db.prepare(`UPDATE forward_destinations SET position_generation = ?, position_sealed = ? WHERE id = ? AND workspace_id = ?`));
    // Inside a transaction (add, update) its own commit decides; SQLite refuses the switch there anyway.
    if (this.db.inTransaction) return update.run(keys.current, sealed, id, workspaceId).changes > 0;
    // exec each time: SQLite applies this pragma when it compiles it, so a prepared one would not switch back and forth.
    this.db.exec('PRAGMA synchronous = NORMAL');
    try {
      return update.run(keys.current, sealed, id, workspaceId).changes > 0;
    } finally {
      this.db.exec('PRAGMA synchronous = FULL');
    }
  }

  private updatePosition: Database.Statement<[number, Buffer, string, string]> | undefined;

  /** Re-seals definitions and positions with the current data key (after a data-key rotation). */
  reseal(workspaceId: string): void {
    const keys = this.keysOf(workspaceId);
    this.db.transaction(() => {
      for (const r of this.rows(workspaceId)) {
        const def = keys.get(keys.current).seal(Buffer.from(this.text(r), 'utf8'), defAad(workspaceId, r.id));
        const pos = r.position_sealed === null ? null : keys.get(keys.current).seal(Buffer.from(JSON.stringify(this.position(workspaceId, r.id))), posAad(workspaceId, r.id));
        this.db.prepare(`UPDATE forward_destinations SET generation = ?, sealed = ?, position_generation = ?, position_sealed = ? WHERE id = ?`).run(keys.current, def, pos === null ? null : keys.current, pos, r.id);
      }
    }).immediate();
  }
}
