#!/usr/bin/env bash
# A refresh whose token request the IdP never answers, end to end (real IdP,
# keyring, agent started with --http-timeout 2, chromium login):
#  - while the refresh hangs (state refreshing), other connections are
#    answered quickly: hello, status, and token (min_ttl 0) with the old,
#    still valid token, active at the IdP (loose bound: well under a second,
#    where a blocked request would wait for the 2 s transfer timeout);
#  - the transfer times out: retrying, last_error timeout; the caller that
#    forced the refresh gets the old valid token;
#  - the retries keep hanging until the fault is cleared, then the refresh
#    succeeds: ready, a new active token.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/lib_refresh.sh"

TTL=60
HTTP_TIMEOUT=2
AGENT_ARGS=(--http-timeout "$HTTP_TIMEOUT")
signed_in_work --access-ttl "$TTL"

assert_exit 0 helper token
old=$OUT
rg0=$(idp_stats refresh_grants)

log "the IdP swallows every refresh grant from now on"
idp_ctl fault '{"endpoint":"token","grant_type":"refresh_token","mode":"hang","count":-1}' >/dev/null
bg_helper forced token --min-ttl $((TTL + 60))
wait_pstate work refreshing 5
_hanging() { (($(idp_stats faults_served) >= 1)); }
wait_for "the refresh request to reach the IdP" 5 _hanging
t_hang=$(now_ms)

log "while the refresh hangs, other connections are answered at once"
slow=()
# token first: a token request parked behind the hanging refresh would wait
# for the rest of the ${HTTP_TIMEOUT} s transfer timeout.
timed helper token
((RC == 0)) || fail "token (min_ttl 0) failed during the hang (exit $RC): $ERR"
((ELAPSED_MS < 1000)) || slow+=("token: ${ELAPSED_MS} ms")
assert_eq "$old" "$OUT" "token during the hang is the old one"
introspect_ok "$OUT" "the token served during the hang"
timed agent_answers
((RC == 0)) || fail "hello failed during the hang"
((ELAPSED_MS < 1000)) || slow+=("hello: ${ELAPSED_MS} ms")
timed helper status --profile work --json
((RC == 0)) || fail "status failed during the hang: $ERR"
((ELAPSED_MS < 1000)) || slow+=("status: ${ELAPSED_MS} ms")
timed helper headers --profile work
((RC == 0)) || fail "headers failed during the hang (exit $RC): $ERR"
((ELAPSED_MS < 1000)) || slow+=("headers: ${ELAPSED_MS} ms")
((${#slow[@]} == 0)) || fail "requests on other connections waited for the hanging refresh (it started $(($(now_ms) - t_hang)) ms ago; --http-timeout $HTTP_TIMEOUT): ${slow[*]}"

log "the transfer times out after ${HTTP_TIMEOUT}s: retrying, last_error timeout; the forcing caller got the old token"
bg_assert_exit forced 0 10
assert_eq "$old" "$OUT" "the answer to the forced refresh after the timeout"
wait_pstate work retrying 5
st=$(profile_status work)
assert_eq timeout "$(jqs .last_error.code "$st")" "last_error after the hang: $st"
assert_exit 0 helper token
assert_eq "$old" "$OUT" "token while retrying"
introspect_ok "$OUT" "the old token while retrying"

log "clear the fault: the next retry succeeds"
_two_hangs() { (($(idp_stats faults_served) >= 2)); }
wait_for "a retry to hang as well" 10 _two_hangs
idp_clear_fault token
wait_pstate work ready 20
st=$(profile_status work)
assert_eq null "$(jqs .last_error "$st")" "last_error after the recovery"
assert_exit 0 helper token
[[ $OUT != "$old" ]] || fail "still the old token after the recovery"
introspect_ok "$OUT" "the token after the recovery"
rg=$(($(idp_stats refresh_grants) - rg0))
((rg >= 3)) || fail "only $rg refresh grants (2 hung + 1 good expected at least)"
log "ok"
