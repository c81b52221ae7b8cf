#!/usr/bin/env bash
# tests/demo.sh BUILD_DIR - the main job, end to end, in a throwaway world:
# a private D-Bus session and keyring, the local identity provider from
# tests/idp, an MCP server that accepts only its tokens (tests/mcp),
# mimir-agent, a browser login, then the token, the MCP client snippet, and
# MCP clients calling a tool through the proxy and with `headers`.
# Nothing outside a temp directory is touched.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
build=$(cd "${1:-$top/build}" && pwd)

if [ -z "${MM_DEMO_IN_SESSION:-}" ]; then
    export MM_DEMO_IN_SESSION=1
    exec dbus-run-session --dbus-daemon="$top/tests/dbus-quiet.sh" -- bash "$0" "$build"
fi

say() { printf '\033[1m==> %s\033[0m\n' "$*"; }
T=$(mktemp -d /tmp/mimir-demo.XXXXXX)
pids=()
cleanup() {
    # The proxy server that `mimir-helper proxy` started is no child of ours.
    local srv
    srv=$(cat "$T/run/mimir/proxy.sock.lock" 2>/dev/null) &&
        [[ $(readlink "/proc/$srv/exe" 2>/dev/null) == */mimir-proxy ]] && pids+=("$srv")
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

say "starting a local MCP server (the official MCP SDK, tests/mcp/server.mjs)"
node "$top/tests/mcp/server.mjs" --issuer "$issuer" >"$T/mcp.json" 2>"$T/mcp.log" &
pids+=($!)
for _ in $(seq 100); do [ -s "$T/mcp.json" ] && break; sleep 0.1; done
mcp_url=$(jq -r .url "$T/mcp.json")
echo "    $mcp_url accepts only access tokens the identity provider vouches for:"
echo "    without one it answers $(curl -s -o /dev/null -w '%{http_code}' -X POST "$mcp_url" \
    -H 'Content-Type: application/json' -d '{}')"

say "adding profile 'demo'"
mimir-helper profile add demo --issuer "$issuer" --client-id mimir-cli \
    --url "$mcp_url" --default

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

# The SDK's own client, as an MCP client would use it: nothing copied anywhere.
mcp_client() { node "$top/tests/mcp/client.mjs" "$@"; }
say "an MCP client that launches 'mimir-helper proxy' (stdio), calling the tool whoami"
answer=$(mcp_client --stdio "mimir-helper proxy" call whoami 2>"$T/proxy.log")
echo "    the server says the caller is: $(jq -r .text <<<"$answer")"
say "an MCP client speaking HTTP itself, headers from 'mimir-helper headers'"
answer=$(mcp_client --http "$mcp_url" --headers-cmd "mimir-helper headers" call echo \
    '{"text":"hello from an authenticated MCP client"}')
echo "    the server echoes: $(jq -r .text <<<"$answer")"

say "mimir-helper status"
mimir-helper status
