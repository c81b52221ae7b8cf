#!/usr/bin/env bash
# Load: 200 concurrent clients x 100 requests each, every reply checked
# (ok, right id, the key) by build/tests/loadclient, zero errors allowed;
# then the helper itself under concurrency.
. "$(dirname "$0")/../lib.sh"

LOADCLIENT=$MM_BUILD/tests/loadclient
[[ -x $LOADCLIENT ]] || fail "precondition: $LOADCLIENT is missing (make $MM_BUILD/tests/loadclient)"
KEY="loadkey_$(head -c 10 /dev/urandom | od -An -tx1 | tr -d ' \n')"
write_apikey_config local
start_agent
assert_exit 0 helper set-api-key <<<"$KEY"

log "loadclient refuses nonsense and reports a missing agent"
assert_exit 2 "$LOADCLIENT" --conns 0
assert_exit 2 "$LOADCLIENT" --op logout
assert_exit 1 "$LOADCLIENT" --socket "$MM_TMP/nothing.sock" --conns 1 --requests 1
assert_contains "$ERR" "cannot connect"

log "loadclient counts errors: token for a profile without a key"
write_config '{"profiles":{"local":{"kind":"api-key"},"empty":{"kind":"api-key"}},"default_profile":"local"}'
assert_exit 0 helper reload
assert_exit 1 "$LOADCLIENT" --conns 2 --requests 5 --profile empty
assert_contains "$OUT" "requests=10 errors=10"
assert_contains "$ERR" "error reply: login_required"

log "200 connections x 100 requests, strict request/reply"
assert_exit 0 timeout 120 "$LOADCLIENT" --socket "$MIMIR_AGENT_SOCK" --conns 200 --requests 100
log "$OUT"
assert_contains "$OUT" "requests=20000 errors=0"
assert_not_contains "$OUT" "missing="

log "200 connections x 100 requests, 10 in flight per connection, headers op"
assert_exit 0 timeout 120 "$LOADCLIENT" --conns 200 --requests 100 --pipeline 10 --op headers --profile local
log "$OUT"
assert_contains "$OUT" "requests=20000 errors=0"

log "100 helpers at once"
pids=()
for i in $(seq 1 100); do
    helper token --timeout 20 >"$MM_TMP/h$i.out" 2>"$MM_TMP/h$i.err" &
    pids+=($!)
done
bad=0
for i in "${!pids[@]}"; do
    wait "${pids[$i]}" || bad=$((bad + 1))
done
((bad == 0)) || fail "$bad of 100 concurrent helpers failed: $(cat "$MM_TMP"/h*.err | sort | uniq -c)"
assert_eq 100 "$(cat "$MM_TMP"/h*.out | grep -cxF "$KEY")" "100 helpers printed the key"

log "the agent is still healthy and its log is clean"
assert_exit 0 helper token
assert_eq "$KEY" "$OUT"
stop_agent
if grep -E '\[(error|warn)\]' "$MM_AGENT_LOG"; then
    fail "warnings or errors in the agent log under load"
fi
log "ok"
