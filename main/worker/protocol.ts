// The small typed protocol between the Electron main process and the appliance core running in a
// utility process (or a worker thread in plain Node). Requests carry an id; each gets exactly one
// reply with an ApiResult envelope, so errors cross the hop as data.
import type { ApiMethod, ApiResult } from '../../shared/api';
import type { DesktopNotice } from '../alerting/desktop-notices';

export interface CoreOptions {
  readonly dataDir: string;
  /** Headless alternative to the OS keychain (a 0600 file holding the master key). */
  readonly masterKeyFile?: string;
  /** Keychain service name (tests use their own); default that of openAppliance. */
  readonly keychainService?: string;
  /** The HTTPS listener for remote write and the Prometheus API; null keeps it off. */
  readonly listen: { readonly port: number; readonly host?: string } | null;
  /**
   * Serve the CLI's admin channel, so `ampule workspace create` forwards here while the app runs.
   * Default true; a worker thread must say false (the channel sets the process umask, which only
   * a process's main thread may).
   */
  readonly adminChannel?: boolean;
}

export interface CoreOpened {
  /** e.g. https://localhost:9443, or null when the listener is off. */
  readonly listenUrl: string | null;
}

/** What the tray shows. */
export interface CoreStatus {
  readonly workspaces: number;
  /** Accepted samples per second over the last minute, all workspaces together. */
  readonly samplesPerSecond: number;
  readonly listenUrl: string | null;
}

export type CoreRequest =
  | { readonly id: number; readonly op: 'open'; readonly options: CoreOptions }
  | { readonly id: number; readonly op: 'call'; readonly method: ApiMethod; readonly args: readonly unknown[] }
  | { readonly id: number; readonly op: 'status' }
  /** Stop the listener, flush and close every store; the worker exits after replying. */
  | { readonly id: number; readonly op: 'shutdown' };

export interface CoreReply {
  readonly id: number;
  readonly result: ApiResult<unknown>;
}

/** What the core tells the main process unasked: alerts that just fired (shown as OS notifications). */
export interface CoreEvent {
  readonly event: 'alerts-firing';
  readonly notices: readonly DesktopNotice[];
}

/** At most this many notices per event are shown; the core sends one per rule and evaluation. */
export const MAX_NOTICES_PER_EVENT = 5;

/** Structural check of an event that crossed the hop: short strings only. */
export function isCoreEvent(m: unknown): m is CoreEvent {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Record<string, unknown>;
  if (r.event !== 'alerts-firing' || !Array.isArray(r.notices)) return false;
  const text = (v: unknown) => typeof v === 'string' && v.length <= 400;
  return r.notices.every((n: unknown) => typeof n === 'object' && n !== null && text((n as DesktopNotice).workspaceId) && text((n as DesktopNotice).title) && text((n as DesktopNotice).body));
}

/** Either end of the channel, whatever carries it (worker_threads port, Electron parentPort). */
export interface MessageLink {
  post(message: unknown): void;
  onMessage(listener: (message: unknown) => void): void;
  close(): void;
}

const OPS = new Set(['open', 'call', 'status', 'shutdown']);

/** Structural check of a request that crossed the hop (the caller is trusted, the bytes are not). */
export function isCoreRequest(m: unknown): m is CoreRequest {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Record<string, unknown>;
  if (typeof r.id !== 'number' || !Number.isSafeInteger(r.id) || typeof r.op !== 'string' || !OPS.has(r.op)) return false;
  if (r.op === 'call') return typeof r.method === 'string' && Array.isArray(r.args);
  if (r.op === 'open') return typeof r.options === 'object' && r.options !== null && typeof (r.options as { dataDir?: unknown }).dataDir === 'string';
  return true;
}

export function isCoreReply(m: unknown): m is CoreReply {
  if (typeof m !== 'object' || m === null) return false;
  const r = m as Record<string, unknown>;
  return typeof r.id === 'number' && typeof r.result === 'object' && r.result !== null && typeof (r.result as { ok?: unknown }).ok === 'boolean';
}
