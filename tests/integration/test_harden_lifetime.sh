#!/usr/bin/env bash
# No expires_in an IdP sends can break refresh (issue: 1e300 and 1e19
# overflowed the scheduling arithmetic, an ASan/UBSan abort; 0.5 made the
# token expire at once and the profile refreshed ~640 times in 6 s with a
# keyring write each, while `token` said "not logged in").  Real IdP with
# rotation, its token responses rewritten by its control API:
#  - expires_in 0.5 on every refresh: over 6 s the agent makes at most one
#    refresh attempt a second, token requests get tokens (one that expired on
#    its way may fail, but never with "not logged in"), the agent lives;
#  - 1e300 and 1e19: the lifetime is clamped (at most a year), nothing
#    overflows (the suite runs under ASan/UBSan in `make asan`);
#  - a non-number expires_in is an IdP error, the old token keeps serving.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/lib_refresh.sh"

signed_in_work --access-ttl 60 --rotate-refresh

log "a non-number expires_in is refused; the previous token is still served"
good=$(helper token)
idp_ctl token_override '{"fields":{"expires_in":"3600"},"count":1,"grant_type":"refresh_token"}' >/dev/null
assert_exit 0 helper token --min-ttl 60
assert_eq "$good" "$OUT" "the token from before the refused answer"
assert_contains "$(pstatus work .last_error.message)" "invalid expires_in"

log "expires_in 0.5 on every refresh"
idp_ctl token_override '{"fields":{"expires_in":0.5},"count":-1,"grant_type":"refresh_token"}' >/dev/null
rg0=$(idp_stats refresh_grants)
t0=$(now_ms)
failures=0
tokens=0
while (($(now_ms) - t0 < 6000)); do
    if helper token --min-ttl 60 >"$MM_TMP/t.out" 2>"$MM_TMP/t.err"; then
        tokens=$((tokens + 1))
    else # a token that lives 1 s can be over when it arrives; say so, not "log in"
        failures=$((failures + 1))
        assert_not_contains "$(cat "$MM_TMP/t.err")" "not logged in" "a failed token request"
    fi
done
grants=$(($(idp_stats refresh_grants) - rg0))
log "6 s: $grants refresh grants, $tokens tokens served, $failures failures"
((grants <= 8)) || fail "$grants refreshes in 6 s: the agent spins on a 0.5 s lifetime"
((grants >= 2)) || fail "only $grants refreshes: the agent stopped renewing"
((tokens > 5 * failures)) || fail "$failures of $((tokens + failures)) token requests failed"
introspect_ok "$(cat "$MM_TMP/t.out")" "the last token served"
_mm_alive "$MM_AGENT_PID" || fail "the agent died"

for big in 1e300 1e19; do
    log "expires_in $big"
    idp_ctl token_override "{\"fields\":{\"expires_in\":$big},\"count\":1,\"grant_type\":\"refresh_token\"}" >/dev/null
    assert_exit 0 helper token --min-ttl 3600
    exp=$(pstatus work .access_expires_at)
    [[ $exp =~ ^[0-9]+$ ]] || fail "access_expires_at after expires_in $big: $exp"
    ((exp <= $(now_s) + 366 * 86400 + 5)) || fail "expires_in $big kept as $exp"
    ((exp > $(now_s) + 300 * 86400)) || fail "expires_in $big became $exp"
    _mm_alive "$MM_AGENT_PID" || fail "the agent died on expires_in $big"
done

stop_agent
log "ok"
