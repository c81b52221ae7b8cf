#!/usr/bin/env bash
# mimir-helper doctor, the checks that need no identity provider: an api-key
# profile served by the test MCP server, real agent, real keyring.  Healthy:
# all pass (exit 0).  Then, each broken for real and its ✗ line shown (exit 1):
#   config            group-writable; another user's; not valid JSON
#   agent             not running (autostart off); reading another config file
#   socket directory  open to others (0755)
#   store             no Secret Service although the config asks for the keyring;
#                     the encrypted vault missing, then locked (and ✓ unlocked)
#   browser           $BROWSER that cannot run; a display but no xdg-open
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/mcp/lib.sh"
. "$MM_TOP/tests/lib_doctor.sh"

unset DISPLAY WAYLAND_DISPLAY BROWSER
apikey_world local
cfg=$(cat "$MIMIR_CONFIG")

log "healthy"
doctor
((RC == 0)) || fail "doctor failed on a healthy setup (exit $RC):"$'\n'"$OUT"$'\n'"$ERR"
for c in config "socket directory" agent store browser; do line ✓ "$c" >/dev/null; done
assert_contains "$(line ✓ credential local)" "API key stored"
assert_contains "$(line ✓ "MCP server" local)" "answered an authenticated initialize"
assert_contains "$(line ✓ browser)" "device grant"
assert_not_contains "$OUT" "identity provider" # api-key: no IdP to ask
log "healthy: $(wc -l <<<"$OUT") lines, exit 0"

log "config: group-writable, another user's, invalid"
chmod g+w "$MIMIR_CONFIG"
doctor
broken config
assert_contains "$OUT" "fix: chmod go-w $MIMIR_CONFIG"
chmod g-w "$MIMIR_CONFIG"
if ((EUID == 0)); then
    chown nobody "$MIMIR_CONFIG"
    doctor
    broken config
    assert_contains "$(line ✗ config)" "belongs to uid $(id -u nobody)"
    chown 0 "$MIMIR_CONFIG"
fi
printf '{"profiles": {"local": }\n' >"$MIMIR_CONFIG"
doctor
broken config
printf '%s\n' "$cfg" >"$MIMIR_CONFIG"

log "agent: another config file; not running"
cp "$MIMIR_CONFIG" "$MM_TMP/other.json"
MIMIR_CONFIG=$MM_TMP/other.json doctor
broken "agent config"
assert_contains "$(line ✗ "agent config")" "the agent reads $MIMIR_CONFIG"
stop_agent
DOCTOR_ENV=(MIMIR_NO_AUTOSTART=1)
doctor
DOCTOR_ENV=()
broken agent
line - store >/dev/null
start_agent

log "socket directory: open to others"
chmod 0755 "$XDG_RUNTIME_DIR/mimir"
doctor
broken "socket directory"
assert_contains "$OUT" "fix: if $XDG_RUNTIME_DIR/mimir is yours: chmod 700"
line ✗ agent >/dev/null # and the helper refuses to talk to it
chmod 0700 "$XDG_RUNTIME_DIR/mimir"

log "store: the keyring asked for, no Secret Service"
stop_agent
jq '.store = "keyring"' <<<"$cfg" >"$MIMIR_CONFIG"
(unset DBUS_SESSION_BUS_ADDRESS && start_agent) # the agent alone has no session bus
MM_AGENT_PID=$(_mm_lock_pid "$MIMIR_AGENT_SOCK")
track_pid "$MM_AGENT_PID"
_loaded() { [[ $(helper status --json | jq -r '.[0].state') != loading ]]; }
wait_for "the profile to leave loading" 10 _loaded
doctor
broken store
assert_contains "$(line ✗ store)" "no Secret Service"
kill "$MM_AGENT_PID" && wait_for "the agent to stop" 10 pid_gone "$MM_AGENT_PID"

log "store: the encrypted vault, missing, unlocked, locked"
jq '.store = "file"' <<<"$cfg" >"$MIMIR_CONFIG"
start_agent
doctor
broken store
assert_contains "$OUT" "fix: mimir-helper unlock"
helper unlock <<<$'pass phrase\npass phrase' >/dev/null || fail "unlock (create) failed"
doctor
assert_contains "$(line ✓ store)" "unlocked"
helper lock >/dev/null
doctor
broken store
assert_contains "$(line ✗ store)" "is locked"
printf '%s\n' "$cfg" >"$MIMIR_CONFIG"
helper reload >/dev/null

log "browser: \$BROWSER that cannot run; a display without xdg-open"
DOCTOR_ENV=(BROWSER=/nonexistent/browser)
doctor
broken browser
DOCTOR_ENV=(DISPLAY=:99 PATH=/nonexistent)
doctor
broken browser
assert_contains "$OUT" "install xdg-utils"
DOCTOR_ENV=()
log "PASS"
