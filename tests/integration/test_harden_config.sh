#!/usr/bin/env bash
# The config file cannot hang the agent or be planted by someone else:
#  - a FIFO as the config: the agent starts (without profiles), answers, and
#    stops on SIGTERM (issue: it hung in open(), deaf even to SIGTERM);
#  - group/world-writable, another user's, or with a profile defined twice
#    (cJSON keeps duplicate keys): refused with a message that says so, and
#    a running agent keeps its previous config.
. "$(dirname "$0")/../lib.sh"

KEY=config_key_0123456789
log "a FIFO as the config file"
mkdir -p "$(dirname "$MIMIR_CONFIG")"
mkfifo "$MIMIR_CONFIG"
MM_START_TIMEOUT=5 start_agent
assert_contains "$(cat "$MM_AGENT_LOG")" "not a regular file"
assert_exit 1 helper reload
assert_contains "$ERR" "not a regular file"
stop_agent
rm -f "$MIMIR_CONFIG"

log "untrusted config files are refused; the agent keeps the old config"
write_apikey_config local
start_agent
assert_exit 0 helper set-api-key <<<"$KEY"
good=$(cat "$MIMIR_CONFIG")
chmod 0666 "$MIMIR_CONFIG"
assert_exit 1 helper reload
assert_contains "$ERR" "writable by group or others"
chmod 0620 "$MIMIR_CONFIG"
assert_exit 1 helper reload
assert_contains "$ERR" "writable by group or others"
chmod 0644 "$MIMIR_CONFIG"
if id nobody >/dev/null 2>&1 && ((EUID == 0)); then
    chown nobody "$MIMIR_CONFIG"
    assert_exit 1 helper reload
    assert_contains "$ERR" "owned by another user"
    chown root "$MIMIR_CONFIG"
fi
printf '{"profiles":{"local":{"kind":"api-key","server_url":"http://127.0.0.1:8080/mcp"},"local":{"kind":"oauth","issuer":"https://evil.example","client_id":"x"}}}\n' >"$MIMIR_CONFIG"
assert_exit 1 helper reload
assert_contains "$ERR" "profiles.local: defined twice"
printf '{"profiles":{"local":{"kind":"api-key","server_url":"http://127.0.0.1:8080/mcp","server_url":"https://evil.example/mcp"}}}\n' >"$MIMIR_CONFIG"
assert_exit 1 helper reload
assert_contains "$ERR" "appears twice"
assert_exit 0 helper token
assert_eq "$KEY" "$OUT" "the previous config still serves"
printf '%s\n' "$good" >"$MIMIR_CONFIG"
assert_exit 0 helper reload
stop_agent
log "ok"
