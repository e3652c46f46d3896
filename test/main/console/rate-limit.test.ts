import { describe, expect, it } from 'vitest';
import { LoginLimiter } from '../../../main/console/rate-limit';

describe('LoginLimiter', () => {
  it('blocks a client after too many failures in the window, then lets it try again', () => {
    const l = new LoginLimiter({ perClient: 3, global: 100, windowMs: 60_000 });
    for (let i = 0; i < 3; i++) {
      expect(l.check('a', 1000 + i).allowed).toBe(true);
      l.fail('a', 1000 + i);
    }
    const blocked = l.check('a', 2000);
    expect(blocked.allowed).toBe(false);
    expect(blocked.retryAfterSeconds).toBe(59);
    expect(l.check('b', 2000).allowed).toBe(true);
    expect(l.check('a', 61_001).allowed).toBe(true);
  });

  it('blocks everyone when failures from many addresses pile up', () => {
    const l = new LoginLimiter({ perClient: 5, global: 4, windowMs: 60_000 });
    for (let i = 0; i < 4; i++) l.fail(`client-${i}`, 1000);
    expect(l.check('fresh', 1001).allowed).toBe(false);
  });

  it('a success clears the client', () => {
    const l = new LoginLimiter({ perClient: 2, global: 100, windowMs: 60_000 });
    l.fail('a', 1);
    l.succeed('a');
    l.fail('a', 2);
    expect(l.check('a', 3).allowed).toBe(true);
  });
});
