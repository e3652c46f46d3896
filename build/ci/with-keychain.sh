#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring (a real OS keychain,
# headless). Used by `npm test` (build/test.mjs) when no Secret Service is reachable, and by hand:
#   build/ci/with-keychain.sh COMMAND [ARGS…]
# Keyring files go to a throwaway folder, removed afterwards, so tests never touch a real user's
# keyring. To keep a keychain across sessions (a headless server whose master key must survive a
# restart), give the folder: AMPULE_KEYRING_HOME=DIR (kept, 0700) and the keyring's password in
# AMPULE_KEYRING_PASSWORD_FILE=FILE (0600); the next session with the same DIR and password
# unlocks the same keyring, so Ampule finds its master key again.
#
# The daemon is kept alive: should it exit, it is started and unlocked again at once and the
# session says so on stderr. The bus starts nothing on demand, because a Secret Service that D-Bus
# activates by itself comes up locked, and every later request then fails ("unlock prompt was
# dismissed") with no desktop to ask for the password.
set -euo pipefail
if [ $# -eq 0 ]; then echo "usage: $0 COMMAND [ARGS…]" >&2; exit 2; fi
for tool in dbus-run-session gnome-keyring-daemon gdbus; do
  command -v "$tool" >/dev/null || { echo "$0: $tool is missing: apt-get install -y gnome-keyring dbus libglib2.0-bin" >&2; exit 1; }
done
if [ -n "${AMPULE_KEYRING_HOME:-}" ]; then
  mkdir -p "$AMPULE_KEYRING_HOME" && chmod 700 "$AMPULE_KEYRING_HOME"
  home=$(cd "$AMPULE_KEYRING_HOME" && pwd)
else
  home=$(mktemp -d)
  trap 'rm -rf "$home"' EXIT
fi
if [ -n "${AMPULE_KEYRING_PASSWORD_FILE:-}" ]; then
  password=$(cat "$AMPULE_KEYRING_PASSWORD_FILE")
else
  [ -z "${AMPULE_KEYRING_HOME:-}" ] || echo "$0: no AMPULE_KEYRING_PASSWORD_FILE: the kept keyring is unlocked with the test password (fine for tests, not for real keys)" >&2
  password=ampule-ci-keyring
fi
# Own runtime dir: gnome-keyring's control socket, so two sessions never meet.
runtime=$(mktemp -d)
export XDG_DATA_HOME="$home" XDG_RUNTIME_DIR="$runtime" AMPULE_KEYCHAIN_SESSION=1
# A session bus with no service directories: nothing is activated on demand (see above).
cat >"$runtime/bus.conf" <<CONF
<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig><type>session</type><keep_umask/><listen>unix:dir=$runtime</listen><auth>EXTERNAL</auth>
<policy context="default"><allow send_destination="*" eavesdrop="true"/><allow eavesdrop="true"/><allow own="*"/></policy></busconfig>
CONF
status=0
# The password goes through the environment of the inner shell only (an argument would show in ps);
# the inner shell keeps it in an unexported variable for the keeper.
_AMPULE_KEYRING_PW="$password" dbus-run-session --config-file="$runtime/bus.conf" -- bash -c '
  pw=$_AMPULE_KEYRING_PW
  unset _AMPULE_KEYRING_PW
  log=$XDG_RUNTIME_DIR/gnome-keyring.log
  keep() {
    local daemon code
    trap "kill \$daemon 2>/dev/null; exit 0" TERM
    while :; do
      printf %s "$pw" | gnome-keyring-daemon --foreground --unlock --components=secrets >/dev/null 2>>"$log" &
      daemon=$!
      code=0
      wait "$daemon" || code=$?
      echo "with-keychain: gnome-keyring-daemon exited (status $code); starting it again, unlocked. Its log ends:" >&2
      tail -n 5 "$log" >&2
      sleep 0.1
    done
  }
  keep &
  keeper=$!
  unlocked() {
    gdbus call --session --dest org.freedesktop.secrets --object-path /org/freedesktop/secrets/collection/login \
      --method org.freedesktop.DBus.Properties.Get org.freedesktop.Secret.Collection Locked 2>/dev/null | grep -q false
  }
  for _ in $(seq 200); do unlocked && break; sleep 0.05; done
  unlocked || { echo "with-keychain: gnome-keyring did not come up unlocked within 10 s:" >&2; cat "$log" >&2; kill "$keeper"; exit 1; }
  status=0
  "$@" || status=$?
  kill "$keeper"
  wait "$keeper" || true
  exit "$status"' bash "$@" </dev/null || status=$?
rm -rf "$runtime"
exit "$status"
