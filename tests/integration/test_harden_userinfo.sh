#!/usr/bin/env bash
# "Plain http only to loopback" cannot be bypassed with userinfo (issue:
# http://127.0.0.1:1@host/ passed the check and curl sent the code and the
# verifier in clear text to host).  In a private network namespace, where
# 192.0.2.1 (TEST-NET-1) is an address of lo and nothing can leave:
#  - a discovery document whose endpoints are http://127.0.0.1:1@192.0.2.1/...
#    is refused (insecure_issuer) and the trap at 192.0.2.1 gets nothing,
#    even from a device login, which posts to its endpoint at once;
#  - such an issuer or server URL in the config is refused with a message.
. "$(dirname "$0")/../lib.sh"

if [[ -z ${MM_IN_NETNS:-} ]]; then
    command -v unshare >/dev/null && command -v ip >/dev/null || skip "needs unshare and ip"
    unshare -n true 2>/dev/null || skip "cannot create a network namespace here (needs root)"
    # Everything below runs again inside the namespace (same temp dir, same
    # keyring session is not needed: no credential is ever stored).
    rc=0
    MM_IN_NETNS=1 unshare -n bash "$0" "$@" || rc=$?
    exit "$rc"
fi
ip link set lo up
ip addr add 192.0.2.1/32 dev lo
trap_log=$MM_TMP/trap.log
: >"$trap_log"
node "$MM_TOP/tests/integration/trap-idp.mjs" 192.0.2.1 "$trap_log" >"$MM_TMP/trap.json" &
track_pid $!
wait_for "the trap IdP" 10 test -s "$MM_TMP/trap.json"
issuer=$(jq -r .issuer "$MM_TMP/trap.json")
trap_at=$(jq -r .trap "$MM_TMP/trap.json")
# Precondition: the trap is reachable, so a request that went there would show.
curl -s -o /dev/null "http://$trap_at/probe" || fail "precondition: the trap does not answer"
assert_eq "GET /probe" "$(cat "$trap_log")" "precondition: the trap logs requests"
: >"$trap_log"

log "endpoints disguised with userinfo are refused"
write_config "{\"profiles\":{\"t\":{\"issuer\":\"$issuer\",\"client_id\":\"mimir-cli\"}}}"
start_agent
assert_exit 5 helper login --device --timeout 20
assert_eq "" "$(cat "$trap_log")" "requests that reached the disguised host (device login)"
assert_contains "$ERR" "user information"
assert_exit 5 helper login --no-browser --timeout 20
assert_contains "$ERR" "user information"
assert_eq "" "$(cat "$trap_log")" "requests that reached the disguised host"

log "an issuer or server URL with userinfo is refused in the config"
write_config "{\"profiles\":{\"t\":{\"issuer\":\"http://127.0.0.1:1@$trap_at\",\"client_id\":\"c\"}}}"
assert_exit 1 helper reload
assert_contains "$ERR" "user information"
write_config "{\"profiles\":{\"t\":{\"kind\":\"api-key\",\"server_url\":\"http://localhost@$trap_at/mcp\"}}}"
assert_exit 1 helper reload
assert_contains "$ERR" "user information"
assert_eq "" "$(cat "$trap_log")" "requests that reached the disguised host"
stop_agent
log "ok"
