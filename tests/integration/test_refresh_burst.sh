#!/usr/bin/env bash
# Single flight at an expiry boundary, end to end (real IdP with rotating
# refresh tokens, real keyring, real agent, chromium for the login):
#  1. the access token has expired (status access_expires_at is in the past)
#     and the agent holds none: 1,000 concurrent connections ask for a token
#     (loadclient --conns 1000 --requests 1) while the IdP is paused, so that
#     every request is inside the agent before the refresh can finish; then
#     the IdP continues.  All 1,000 succeed and the IdP saw exactly ONE
#     refresh grant.
#  2. the same with min_ttl: 1,000 connections send {"op":"token","min_ttl":N}
#     at once (IdP paused again), N beyond the current token's remaining life
#     (but within the next token's): exactly one refresh grant, all 1,000 get the same new
#     token, which the IdP says is active.
# With rotation a second refresh racing the first would present a rotated-away
# refresh token, which makes oidc-provider revoke the whole grant: it would
# show as failed requests, not only as a higher count.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/lib_refresh.sh"

TTL=6
N=1000
AGENT_ARGS=(--http-timeout 120) # the IdP is paused on purpose; never time out meanwhile
signed_in_work --access-ttl "$TTL" --rotate-refresh

log "1. wait until the access token has expired (status access_expires_at), with the agent stopped"
exp=$(pstatus work .access_expires_at)
[[ $exp =~ ^[0-9]+$ ]] || fail "no access_expires_at after the login"
stop_agent # no proactive refresh while we wait
_expired() { (($(now_s) > exp)); }
wait_for "the access token to expire" $((TTL + 5)) _expired
start_agent "${AGENT_ARGS[@]}"
wait_pstate work ready 10 # the refresh token is loaded; no access token yet
assert_eq null "$(pstatus work .access_expires_at)" "a restarted agent holds no access token"

rg0=$(idp_stats refresh_grants)
fds0=$(agent_fds)
idp_pause
"$MM_BUILD/tests/loadclient" --socket "$MIMIR_AGENT_SOCK" --conns "$N" --requests 1 \
    --threads 4 --timeout 60 >"$MM_TMP/lc.out" 2>"$MM_TMP/lc.err" &
lc=$!
track_pid "$lc"
_all_connected() { (($(agent_fds) >= fds0 + N)) || pid_gone "$1"; }
wait_for "the agent to accept $N connections" 30 _all_connected "$lc"
pid_gone "$lc" && fail "loadclient ended while the IdP was paused: $(cat "$MM_TMP/lc.out" "$MM_TMP/lc.err")"
_all_parked() { [[ $(pstatus work .waiters) == "$N" ]]; }
wait_for "all $N requests to wait on the one refresh (status waiters)" 30 _all_parked
assert_eq refreshing "$(pstatus work .state)" "state while the IdP is paused"
pid_gone "$lc" && fail "requests were answered while the refresh could not finish: $(cat "$MM_TMP/lc.out" "$MM_TMP/lc.err")"
idp_resume
rc=0
wait "$lc" || rc=$?
((rc == 0)) || fail "loadclient failed (exit $rc): $(cat "$MM_TMP/lc.out" "$MM_TMP/lc.err")"
grep -q "requests=$N errors=0 " "$MM_TMP/lc.out" || fail "loadclient: $(cat "$MM_TMP/lc.out")"
log "loadclient: $(cat "$MM_TMP/lc.out")"
assert_eq $((rg0 + 1)) "$(idp_stats refresh_grants)" "refresh grants for $N concurrent requests at expiry"
assert_exit 0 helper token
introspect_ok "$OUT" "the token after the burst"
assert_eq $((rg0 + 1)) "$(idp_stats refresh_grants)" "refresh grants after one more token request"
wait_pstate work ready 5

log "2. $N concurrent token requests with min_ttl beyond the token's remaining life"
# min_ttl TTL-1: refresh once access_expires_at - now <= TTL-1 (a second after
# the last refresh), while the proactive refresh (at 75%) is seconds away;
# the new token has TTL seconds left.
exp=$(pstatus work .access_expires_at)
_aged() { ((exp - $(now_s) <= TTL - 1)); }
wait_for "the token to age" "$TTL" _aged
old=$(helper token)
rg0=$(idp_stats refresh_grants)
rt0=$(stored_rt work)
fds0=$(agent_fds)
idp_pause
burst_client "$N" "{\"v\":1,\"id\":1,\"op\":\"token\",\"min_ttl\":$((TTL - 1))}" 60 >"$MM_TMP/burst.json" &
bc=$!
track_pid "$bc"
wait_for "the agent to accept $N connections" 30 _all_connected "$bc"
wait_for "all $N requests to wait on the one refresh (status waiters)" 30 _all_parked
pid_gone "$bc" && fail "the burst ended while the IdP was paused: $(cat "$MM_TMP/burst.json")"
assert_eq refreshing "$(pstatus work .state)" "state while the IdP is paused"
idp_resume
wait "$bc" || fail "the burst client failed"
res=$(cat "$MM_TMP/burst.json")
log "burst: $(jq -c '{replies, ok, error_count, max_ms, tokens: (.tokens | length)}' <<<"$res")"
assert_eq "$N" "$(jqs .ok "$res")" "successful replies: $(jq -c .errors <<<"$res")"
assert_eq 1 "$(jqs '.tokens | length' "$res")" "distinct tokens among the $N replies"
new=$(jqs '.tokens[0]' "$res")
[[ $new != "$old" ]] || fail "the burst was answered with the old token"
introspect_ok "$new" "the token all $N requests got"
assert_eq $((rg0 + 1)) "$(idp_stats refresh_grants)" "refresh grants for $N concurrent min_ttl requests"

log "the rotated refresh token is in the keyring; the previous one is dead; no second login"
rt1=$(stored_rt work)
[[ -n $rt1 && $rt1 != "$rt0" ]] || fail "the keyring still holds the refresh token from before the burst"
introspect_ok "$rt1" "the stored refresh token"
assert_eq false "$(introspect_active "$rt0")" "the previous refresh token"
assert_exit 0 helper token
assert_eq "$new" "$OUT" "the next token request is served from memory"
assert_eq 1 "$(idp_stats authorization_code_grants)" "authorization code grants"
assert_eq 1 "$(browser_runs)" "browser runs"
log "ok"
