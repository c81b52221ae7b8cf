#!/usr/bin/env bash
# The keyring is asked for ("store": "keyring") but no Secret Service is
# reachable: the agent says so clearly (store_unavailable) and never falls
# back to writing secrets in plaintext.  Then the keyring comes back (a new
# agent on the real bus) and everything works.  (Without "store", no Secret
# Service means the encrypted vault: test_vault.sh.)
. "$(dirname "$0")/../lib.sh"

KEY="nostore_$(head -c 10 /dev/urandom | od -An -tx1 | tr -d ' \n')"
write_config '{"store":"keyring","profiles":{"local":{"kind":"api-key","server_url":"http://127.0.0.1:8080/mcp"}}}'

log "agent on a D-Bus address where nothing listens"
real_bus=$DBUS_SESSION_BUS_ADDRESS
export DBUS_SESSION_BUS_ADDRESS="unix:path=$MM_TMP/no-such-bus"
start_agent
export DBUS_SESSION_BUS_ADDRESS=$real_bus
[[ ! -e $MM_TMP/no-such-bus ]] || fail "precondition: the fake bus path must not exist"

log "token fails with a clear store_unavailable message"
assert_exit 1 helper token
assert_contains "$ERR" "no Secret Service reachable"
assert_contains "$ERR" "gnome-keyring"
r=$(sock_send '{"v":1,"id":1,"op":"token"}')
assert_eq store_unavailable "$(jqs .error.code "$r")" "token reply: $r"

log "status reports the keyring as unavailable"
assert_exit 0 helper status --json
assert_eq storage_error "$(jqs '.[0].state' "$OUT")"
assert_eq unavailable "$(jqs '.[0].storage' "$OUT")"
assert_eq store_unavailable "$(jqs '.[0].last_error.code' "$OUT")"
assert_exit 0 helper status
assert_contains "$OUT" "keyring: unavailable"

log "set-api-key fails too, and nothing lands on disk"
assert_exit 1 helper set-api-key <<<"$KEY"
assert_contains "$ERR" "no Secret Service reachable"
r=$(sock_send "{\"v\":1,\"id\":2,\"op\":\"set_api_key\",\"api_key\":\"$KEY\"}")
assert_eq store_unavailable "$(jqs .error.code "$r")" "set_api_key reply: $r"
assert_exit 1 helper token
assert_exit 1 helper logout # the keyring erase cannot happen: say so
assert_contains "$ERR" "no Secret Service reachable to erase"
stop_agent
if grep -rqF "$KEY" "$MM_TMP" 2>/dev/null; then
    fail "the key was written in plaintext: $(grep -rlF "$KEY" "$MM_TMP")"
fi
# The key itself is in this test's bash variables only; make sure grep can
# find it where it is (the check above is not vacuous).
printf '%s\n' "$KEY" >"$MM_TMP/probe"
grep -rqF "$KEY" "$MM_TMP" || fail "grep cannot find a file holding the key"
rm "$MM_TMP/probe"

log "with the keyring back, the same profile works"
start_agent
assert_exit 4 helper token
assert_exit 0 helper set-api-key <<<"$KEY"
assert_exit 0 helper token
assert_eq "$KEY" "$OUT"
stop_agent
log "ok"
