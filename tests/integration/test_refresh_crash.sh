#!/usr/bin/env bash
# kill -9 right after a refresh-token rotation loses nothing, end to end (real
# IdP with --rotate-refresh, real keyring, real agent, one chromium login).
# Each of ROUNDS rounds:
#   - force a refresh (token --min-ttl beyond the token's lifetime): the IdP
#     rotates the refresh token;
#   - kill -9 the agent the moment the helper has its answer;
#   - the keyring already holds the NEW refresh token (active at the IdP,
#     the previous one rotated away): the agent answers only after the write;
#   - restart the agent: `token` exits 0 with an access token the IdP says is
#     active (the restarted agent refreshed with the persisted token, and
#     rotated again).
# oidc-provider revokes the whole grant when a rotated-away refresh token is
# presented, so a single lost rotation shows up as login_required.  The
# access tokens live an hour: no proactive refresh runs during a round, every
# refresh is one we forced.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/lib_refresh.sh"

ROUNDS=${MM_CRASH_ROUNDS:-10}
signed_in_work --rotate-refresh
prev_rt=$(stored_rt work)
[[ -n $prev_rt ]] || fail "no refresh token in the keyring after the login"
rg0=$(idp_stats refresh_grants)

for ((round = 1; round <= ROUNDS; round++)); do
    # 1. a forced refresh with rotation, then kill -9 at once
    rc=0
    helper token --min-ttl 9999 >"$MM_TMP/tok.out" 2>"$MM_TMP/tok.err" || rc=$?
    kill -KILL "$MM_AGENT_PID"
    ((rc == 0)) || fail "round $round: the forced refresh failed (exit $rc): $(cat "$MM_TMP/tok.err")"
    wait_agent_exit 5
    assert_eq 137 "$MM_AGENT_STATUS" "round $round: the agent died of SIGKILL"
    forced=$(cat "$MM_TMP/tok.out")
    rt=$(stored_rt work)
    [[ -n $rt ]] || fail "round $round: the keyring lost the refresh token"
    [[ $rt != "$prev_rt" ]] || fail "round $round: the rotated refresh token was not in the keyring when the caller got its answer"
    introspect_ok "$rt" "round $round: the refresh token in the keyring after kill -9"
    assert_eq false "$(introspect_active "$prev_rt")" "round $round: the previous refresh token"
    introspect_ok "$forced" "round $round: the token from the forced refresh"

    # 2. restart: the persisted token must work
    start_agent
    # A token request that arrives while the profile is still loading from
    # the keyring is a separate matter (test_refresh_loading.sh): here the
    # question is only whether the persisted token works.
    wait_pstate work '!loading' 10
    assert_eq ready "$(pstate work)" "round $round: state after the restart"
    rc=0
    helper token >"$MM_TMP/tok.out" 2>"$MM_TMP/tok.err" || rc=$?
    ((rc == 0)) || fail "round $round: token after the restart failed (exit $rc): $(cat "$MM_TMP/tok.err") (lost login)"
    tok=$(cat "$MM_TMP/tok.out")
    [[ $tok != "$forced" ]] || fail "round $round: the restarted agent served the killed agent's token"
    introspect_ok "$tok" "round $round: the token after the restart"
    prev_rt=$(stored_rt work)
    [[ $prev_rt != "$rt" ]] || fail "round $round: the restart's refresh did not rotate the stored token"
done
log "$ROUNDS rounds of kill -9 after rotation: no login lost"

st=$(profile_status work)
assert_eq ready "$(jqs .state "$st")" "state at the end"
assert_eq ok "$(jqs .storage "$st")" "storage at the end"
assert_eq $((2 * ROUNDS)) $(($(idp_stats refresh_grants) - rg0)) "refresh grants (2 per round)"
assert_eq 1 "$(idp_stats authorization_code_grants)" "authorization code grants: never a new login"
assert_eq 1 "$(browser_runs)" "browser runs"
log "ok"
