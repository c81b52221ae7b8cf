#!/usr/bin/env bash
# tests/demo.sh BUILD_DIR - the main job, end to end, in a throwaway world:
# a private D-Bus session and keyring, the local identity provider from
# tests/idp, mimir-agent, a browser login, then the token and the MCP
# client snippet.  Nothing outside a temp directory is touched.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)

if [ -z "${MM_DEMO_IN_SESSION:-}" ]; then
    export MM_DEMO_IN_SESSION=1
    exec dbus-run-session -- bash "$0" "$build"
fi

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
T=$(mktemp -d /tmp/mimir-demo.XXXXXX)
pids=()
cleanup() {
    for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
    wait 2>/dev/null || true
    rm -rf "$T"
}
trap cleanup EXIT

export HOME=$T/home XDG_RUNTIME_DIR=$T/run XDG_CONFIG_HOME=$T/config XDG_DATA_HOME=$T/data
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" && mkdir -m 700 "$XDG_RUNTIME_DIR"
export MIMIR_AGENT_SOCK=$XDG_RUNTIME_DIR/mimir/agent.sock PATH=$build:$PATH

say "starting a private keyring (gnome-keyring in this demo's own D-Bus session)"
echo -n demo | gnome-keyring-daemon --unlock --components=secrets --daemonize >/dev/null
for _ in $(seq 100); do # ready once it really stores something
    echo -n probe | secret-tool store --label=probe mimir-demo probe 2>/dev/null && break
    sleep 0.1
done
secret-tool clear mimir-demo probe

say "starting the local identity provider (oidc-provider, tests/idp)"
node "$top/tests/idp/idp.mjs" >"$T/idp.json" 2>"$T/idp.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$T/idp.json" ] && break; sleep 0.1; done
issuer=$(jq -r .issuer "$T/idp.json")
echo "    issuer: $issuer"

say "adding profile 'demo'"
mimir-helper profile add demo --issuer "$issuer" --client-id mimir-cli \
    --url "http://127.0.0.1:8080/mcp" --default

if [ -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" ] && [ -z "${MIMIR_DEMO_HEADLESS:-}" ] &&
   command -v xdg-open >/dev/null; then
    say "your browser will open: sign in with any name and password"
else
    say "no display, so headless Chromium fills in the login form"
    export BROWSER=$top/tests/browser/login.mjs MIMIR_TEST_USER=${USER:-demo-user}
fi
say "starting mimir-agent"
mimir-agent --foreground >"$T/agent.log" 2>&1 &
pids+=($!)
for _ in $(seq 100); do mimir-helper status >/dev/null 2>&1 && break; sleep 0.05; done

say "logging in"
mimir-helper login --timeout 120

say "mimir-helper token"
mimir-helper token

say "mimir-helper headers (what Claude Code's headersHelper receives)"
mimir-helper headers

say "Claude Code configuration (.mcp.json): mimir-helper mcp-config claude-code"
mimir-helper mcp-config claude-code

say "mimir-helper status"
mimir-helper status
