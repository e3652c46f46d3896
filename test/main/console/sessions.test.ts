import { describe, expect, it } from 'vitest';
import { readCookie, SessionStore } from '../../../main/console/sessions';

describe('SessionStore', () => {
  it('finds a session by its cookie value and slides the idle timeout', () => {
    const store = new SessionStore();
    const { id, session } = store.create(0);
    expect(store.get(id, 20 * 60_000)).toBe(session);
    expect(store.get(id, 45 * 60_000)).toBe(session); // 25 min after the last use
    expect(store.get(id, 80 * 60_000)).toBeNull(); // 35 min idle
    expect(store.get(id, 80 * 60_000)).toBeNull();
  });

  it('ends a session after 12 hours however busy', () => {
    const store = new SessionStore();
    const { id } = store.create(0);
    for (let t = 0; t < 12 * 3600_000; t += 20 * 60_000) expect(store.get(id, t)).not.toBeNull();
    expect(store.get(id, 12 * 3600_000 + 1)).toBeNull();
  });

  it('compares CSRF tokens exactly', () => {
    const { session } = new SessionStore().create(0);
    expect(SessionStore.csrfMatches(session, session.csrfToken)).toBe(true);
    expect(SessionStore.csrfMatches(session, session.csrfToken + 'x')).toBe(false);
    expect(SessionStore.csrfMatches(session, undefined)).toBe(false);
    expect(SessionStore.csrfMatches(session, '')).toBe(false);
  });

  it('destroyed and unknown ids have no session', () => {
    const store = new SessionStore();
    const { id } = store.create(0);
    store.destroy(id);
    expect(store.get(id, 1)).toBeNull();
    expect(store.get('made-up', 1)).toBeNull();
    expect(store.get(undefined, 1)).toBeNull();
  });

  it('reads one cookie out of a Cookie header', () => {
    expect(readCookie('a=1; __Host-ampule-console=xyz; b=2', '__Host-ampule-console')).toBe('xyz');
    expect(readCookie('a=1', '__Host-ampule-console')).toBeUndefined();
    expect(readCookie(undefined, 'a')).toBeUndefined();
  });
});
