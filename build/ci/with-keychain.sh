#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring (a real OS keychain,
# headless). Used by `npm test` (build/test.mjs) when no Secret Service is reachable, and by hand:
#   build/ci/with-keychain.sh COMMAND [ARGS…]
# Keyring files go to a throwaway folder, removed afterwards, so tests never touch a real user's
# keyring. To keep a keychain across sessions (a headless server whose master key must survive a
# restart), give the folder: AMPULE_KEYRING_HOME=DIR (kept, 0700) and the keyring's password in
# AMPULE_KEYRING_PASSWORD_FILE=FILE (0600); the next session with the same DIR and password
# unlocks the same keyring, so Ampule finds its master key again.
set -euo pipefail
if [ $# -eq 0 ]; then echo "usage: $0 COMMAND [ARGS…]" >&2; exit 2; fi
for tool in dbus-run-session gnome-keyring-daemon; do
  command -v "$tool" >/dev/null || { echo "$0: $tool is missing: apt-get install -y gnome-keyring dbus" >&2; exit 1; }
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
status=0
# The password goes through the environment of the inner shell only (an argument would show in ps).
_AMPULE_KEYRING_PW="$password" dbus-run-session -- bash -c '
  printf %s "$_AMPULE_KEYRING_PW" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  unset _AMPULE_KEYRING_PW
  exec "$@"' bash "$@" </dev/null || status=$?
rm -rf "$runtime"
exit "$status"
