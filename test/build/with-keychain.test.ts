// build/ci/with-keychain.sh, the keychain session `npm test` and headless servers run in, outlives
// its gnome-keyring-daemon: a daemon that dies (here killed with SIGKILL by its own PID, as a
// crash would end it) is started and unlocked again, and the keyring's secrets are still there.
// Before, D-Bus activated a fresh daemon that came up locked and every later request failed.
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { noPrivateBusReason } from '../main/crypto/keychain-env';

const ROOT = join(import.meta.dirname, '..', '..');
const SCRIPT = join(ROOT, 'build', 'ci', 'with-keychain.sh');

// Runs inside the session: store a secret, kill the daemon, then read the secret and store another.
const INSIDE = String.raw`
set -e
keyring() { node -e "
  const { Entry } = require('@napi-rs/keyring');
  const e = new Entry('AmpuleKeeperTest', process.argv[1], { linux: { store: 'secret-service' } });
  if (process.argv[2]) e.setPassword(process.argv[2]); else console.log('read ' + e.getPassword());
" "$@"; }
daemon_pid() { gdbus call --session --dest org.freedesktop.DBus --object-path /org/freedesktop/DBus \
  --method org.freedesktop.DBus.GetConnectionUnixProcessID org.freedesktop.secrets 2>/dev/null | sed -nE 's/^\(uint32 ([0-9]+),\)$/\1/p'; }
keyring before kept-secret
old=$(daemon_pid)
kill -9 "$old"
for _ in $(seq 100); do new=$(daemon_pid); [ -n "$new" ] && [ "$new" != "$old" ] && break; sleep 0.1; done
echo "daemon $old then $new"
keyring before
keyring after second-secret
keyring after
`;

describe('the private keychain session', () => {
  it.skipIf(noPrivateBusReason)(`starts its daemon again, unlocked, when it dies${noPrivateBusReason ? ` (skipped: ${noPrivateBusReason})` : ''}`, () => {
    const r = spawnSync('bash', [SCRIPT, 'bash', '-c', INSIDE], { cwd: ROOT, encoding: 'utf8', timeout: 60_000, env: { ...process.env, AMPULE_KEYRING_HOME: '' } });
    expect(r.status, r.stderr).toBe(0);
    const [, oldPid, newPid] = /daemon (\d+) then (\d+)/.exec(r.stdout) ?? [];
    expect(oldPid).toBeTruthy();
    expect(newPid).toBeTruthy();
    expect(newPid).not.toBe(oldPid);
    expect(r.stdout).toContain('read kept-secret');
    expect(r.stdout).toContain('read second-secret');
    expect(r.stderr).toMatch(/gnome-keyring-daemon exited \(status 137\); starting it again, unlocked/);
  });
});
