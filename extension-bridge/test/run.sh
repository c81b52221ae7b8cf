#!/usr/bin/env bash
# test/run.sh - compile the extension and run its tests, inside a private
# D-Bus session with an unlocked gnome-keyring and a private HOME (the
# keyring of the session we run in is never touched):
#   protocol.test.mjs  the socket client against the real mimir-agent (node)
#   vscode/suite.mjs   the packaged extension inside a real VS Code
#                      (code-server, installed here by vscode/install.sh)
#
#   bash extension-bridge/test/run.sh      exit status 0 only when every test passed
#
# Needs node >= 20, npm, dbus (dbus-run-session, dbus-send), gnome-keyring,
# chromium, tests/node22 and what `make` needs to build the agent
# (tests/deps.sh installs it all).
# MM_BUILD: where mimir-agent, mimir-helper and mimir-proxy are (default:
# ../build, which this script brings up to date with `make`).
# MM_VSCODE_LOGDIR: where the VS Code suite leaves its logs and screenshots
# (default: $MM_BUILD/test-logs/vscode; kept after the run).
# MM_VSCODE=0 skips the VS Code suite.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
top=$(cd "$here/.." && pwd)
cd "$here"

# ---- inside the private session (second phase) -----------------------------
if [[ ${1:-} == --in-session ]]; then
    out=$(echo -n test | gnome-keyring-daemon --unlock --components=secrets --daemonize)
    while IFS= read -r line; do
        [[ $line == *=* ]] && export "${line?}"
    done <<<"$out"
    owned() {
        dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus / \
            org.freedesktop.DBus.NameHasOwner string:org.freedesktop.secrets 2>/dev/null |
            grep -q true
    }
    for ((i = 0; i < 500; i++)); do
        owned && break
        sleep 0.02
    done
    owned || { echo "run.sh: gnome-keyring did not come up on the session bus" >&2; exit 1; }
    rc=0
    MM_PRIVATE_DBUS=1 timeout 120 node --test --test-reporter=spec --test-timeout=60000 \
        test/protocol.test.mjs test/setup.test.mjs || rc=$?
    if [[ ${MM_VSCODE:-1} != 0 ]]; then
        echo "run.sh: the VS Code suite (logs and screenshots in $MM_VSCODE_LOGDIR)" >&2
        MM_PRIVATE_DBUS=1 timeout 600 node --test --test-reporter=spec --test-timeout=180000 \
            test/vscode/suite.mjs || rc=$?
    fi
    exit "$rc" # the keyring daemon ends with the session bus
fi

# ---- first phase: tools, build, compile ------------------------------------
for t in node npm dbus-run-session dbus-send gnome-keyring-daemon; do
    command -v "$t" >/dev/null || { echo "run.sh: $t is missing (run tests/deps.sh)" >&2; exit 1; }
done

if [[ -z ${MM_BUILD:-} ]]; then
    export MM_BUILD=$top/build
    make -C "$top" --no-print-directory -s
fi
for b in mimir-agent mimir-helper; do
    [[ -x $MM_BUILD/$b ]] || { echo "run.sh: $MM_BUILD/$b not found" >&2; exit 1; }
done

# npm ci when node_modules is missing or older than the lock file.
if [[ ! -f node_modules/.package-lock.json || package-lock.json -nt node_modules/.package-lock.json ]]; then
    npm ci --no-audit --no-fund
fi
npm run --silent compile
export MM_VSCODE_LOGDIR=${MM_VSCODE_LOGDIR:-$MM_BUILD/test-logs/vscode}
if [[ ${MM_VSCODE:-1} != 0 ]]; then
    bash "$here/test/vscode/install.sh"
fi

tmp=$(mktemp -d "${TMPDIR:-/tmp}/mm-ext.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
mkdir -m 0700 "$tmp/home" "$tmp/run"
rc=0
env -u MIMIR_AGENT_SOCK -u MIMIR_CONFIG -u MIMIR_NO_AUTOSTART -u GNOME_KEYRING_CONTROL \
    -u DBUS_SESSION_BUS_ADDRESS \
    HOME="$tmp/home" XDG_RUNTIME_DIR="$tmp/run" XDG_CONFIG_HOME="$tmp/home/.config" \
    XDG_DATA_HOME="$tmp/home/.local/share" XDG_CACHE_HOME="$tmp/home/.cache" \
    dbus-run-session -- bash "$here/test/run.sh" --in-session || rc=$?
exit "$rc"
