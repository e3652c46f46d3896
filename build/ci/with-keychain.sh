#!/usr/bin/env bash
# Runs a command inside a private D-Bus session with an unlocked gnome-keyring (a real OS keychain,
# headless). Used by .ci/run and by developers: build/ci/with-keychain.sh npm test
set -euo pipefail
if [ $# -eq 0 ]; then echo "usage: $0 COMMAND [ARGS…]" >&2; exit 2; fi
for tool in dbus-run-session gnome-keyring-daemon; do
  command -v "$tool" >/dev/null || { echo "$0: $tool is missing: apt-get install -y gnome-keyring dbus" >&2; exit 1; }
done
# Keyring files in a throwaway folder, so tests never touch a real user's keyring.
export XDG_DATA_HOME="${AMPULE_KEYRING_HOME:-$(mktemp -d)}"
exec dbus-run-session -- bash -c '
  printf %s "ampule-ci-keyring" | gnome-keyring-daemon --unlock --components=secrets >/dev/null
  exec "$@"' bash "$@" </dev/null
