// Console sessions: an unguessable id in a Secure, HttpOnly, SameSite=Strict cookie, and a
// per-session CSRF token the page must echo in a header on every call. Kept in memory only:
// restarting the server signs everyone out, which is what an admin console should do.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';

export const SESSION_COOKIE = '__Host-ampule-console';
export const CSRF_HEADER = 'x-ampule-csrf';
const IDLE_MS = 30 * 60_000;
const ABSOLUTE_MS = 12 * 3600_000;

export interface Session {
  readonly csrfToken: string;
  readonly createdAt: number;
  lastSeenAt: number;
}

function digest(id: string): string {
  return createHash('sha256').update(id).digest('hex');
}

export class SessionStore {
  /** Keyed by the id's hash, so the map never holds a usable cookie value. */
  private readonly sessions = new Map<string, Session>();

  create(now: number): { id: string; session: Session } {
    if (this.sessions.size >= 100) this.prune(now);
    const id = randomBytes(32).toString('base64url');
    const session: Session = { csrfToken: randomBytes(32).toString('base64url'), createdAt: now, lastSeenAt: now };
    this.sessions.set(digest(id), session);
    return { id, session };
  }

  /** The live session for a cookie value, sliding its idle timer; null when unknown or expired. */
  get(id: string | undefined, now: number): Session | null {
    if (!id) return null;
    const key = digest(id);
    const s = this.sessions.get(key);
    if (!s) return null;
    if (now - s.lastSeenAt > IDLE_MS || now - s.createdAt > ABSOLUTE_MS) {
      this.sessions.delete(key);
      return null;
    }
    s.lastSeenAt = now;
    return s;
  }

  private prune(now: number): void {
    for (const [key, s] of this.sessions) if (now - s.lastSeenAt > IDLE_MS || now - s.createdAt > ABSOLUTE_MS) this.sessions.delete(key);
  }

  destroy(id: string | undefined): void {
    if (id) this.sessions.delete(digest(id));
  }

  static csrfMatches(session: Session, header: string | undefined): boolean {
    if (!header) return false;
    const a = Buffer.from(session.csrfToken), b = Buffer.from(header);
    return a.length === b.length && timingSafeEqual(a, b);
  }

  static cookie(id: string): string {
    return `${SESSION_COOKIE}=${id}; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=${ABSOLUTE_MS / 1000}`;
  }

  static clearCookie(): string {
    return `${SESSION_COOKIE}=; Path=/; Secure; HttpOnly; SameSite=Strict; Max-Age=0`;
  }
}

export function readCookie(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}
