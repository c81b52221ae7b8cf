#!/usr/bin/env bash
# A refresh that meets HTTP 503 three times, then a recovered IdP, end to end
# (real IdP with rotating refresh tokens, keyring, agent, chromium login):
#  - a refresh is forced (token --min-ttl beyond the token's life); the IdP
#    answers 503 (/__test/fault, refresh grants only, count 3);
#  - meanwhile a client polling every 100 ms never sees an error and every
#    token it gets is active at the IdP (the old one, still valid);
#  - status --json says retrying, last_error idp_error, next_refresh_at (the
#    backoff) in the future, the old access_expires_at, storage ok; the keyring
#    still holds the old refresh token; subscribers see retrying with the error;
#  - the backoff retries on its own: after 3 faults the 4th grant succeeds,
#    the state is ready with no last_error, the new token is active, the
#    rotated refresh token is in the keyring.
# Then garbage (200 "<html>not json") and truncated JSON (200
# '{"access_token":"abc') from the token endpoint on refresh: the same
# retryable handling (retrying, last_error idp_error, the old token served)
# and the refresh token in the keyring (secret-tool lookup) byte for byte
# unchanged and still active, until the IdP answers properly again.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/lib_refresh.sh"

TTL=40 # long enough to outlive the whole backoff (1 + 2 + 4 s, plus jitter)
signed_in_work --access-ttl "$TTL" --rotate-refresh
subscribe_start "$MM_TMP/events"

assert_exit 0 helper token
old=$OUT
old_exp=$(pstatus work .access_expires_at)
rt0=$(stored_rt work)
[[ -n $rt0 ]] || fail "no refresh token in the keyring after the login"
rg0=$(idp_stats refresh_grants)
f0=$(idp_stats faults_served)

log "the IdP answers the next 3 refresh grants with 503"
idp_ctl fault '{"endpoint":"token","grant_type":"refresh_token","status":503,"count":3}' >/dev/null
token_poller work "$IDP_ISSUER" 30 "$MM_TMP/poll" # stopped below, after the recovery
poller=$MM_POLLER_PID

log "force a refresh: the caller still gets the old, valid token"
assert_exit 0 helper token --min-ttl $((TTL + 60))
assert_eq "$old" "$OUT" "the answer while the IdP fails is the old token"
wait_pstate work retrying 5
st=$(profile_status work)
now=$(now_s)
assert_eq idp_error "$(jqs .last_error.code "$st")" "last_error while retrying: $st"
assert_contains "$(jqs .last_error.message "$st")" 503 "last_error message names the HTTP status"
assert_eq "$old_exp" "$(jqs .access_expires_at "$st")" "access_expires_at while retrying (the old token)"
assert_eq ok "$(jqs .storage "$st")" "storage while retrying"
assert_eq true "$(jqs .has_credential "$st")" "has_credential while retrying"
nxt=$(jqs .next_refresh_at "$st")
[[ $nxt =~ ^[0-9]+$ ]] || fail "no next_refresh_at while retrying: $st"
((nxt >= now - 1 && nxt <= now + 4)) || fail "next_refresh_at $nxt is not the first backoff (1..1.5 s) after now ($now)"
assert_eq "$rt0" "$(stored_rt work)" "the keyring's refresh token while the refresh fails"
assert_exit 0 helper token
assert_eq "$old" "$OUT" "token while retrying"
introspect_ok "$OUT" "the old token served while retrying"

log "the agent retries with backoff and succeeds after the 3 faults"
wait_pstate work ready 20
st=$(profile_status work)
assert_eq null "$(jqs .last_error "$st")" "last_error after the recovery"
assert_eq 3 $(($(idp_stats faults_served) - f0)) "faults served"
assert_eq 4 $(($(idp_stats refresh_grants) - rg0)) "refresh grants: 3 failed + 1 good"
new_exp=$(jqs .access_expires_at "$st")
((new_exp > old_exp)) || fail "access_expires_at did not move on after the recovery ($old_exp -> $new_exp)"
nxt=$(jqs .next_refresh_at "$st")
((nxt > $(now_s) && nxt < new_exp)) || fail "next_refresh_at $nxt after the recovery is not before the expiry $new_exp"
assert_exit 0 helper token
new=$OUT
[[ $new != "$old" ]] || fail "still the old token after the recovery"
introspect_ok "$new" "the new token"
rt1=$(stored_rt work)
[[ -n $rt1 && $rt1 != "$rt0" ]] || fail "the rotated refresh token did not reach the keyring"
introspect_ok "$rt1" "the new stored refresh token"

log "the polling client never saw an error; every token was active when received"
sleep 1 # let it see the new token
touch "$MM_TMP/poll.stop"
wait "$poller" || fail "the poller failed"
res=$(poller_check "$MM_TMP/poll" "client polling through the outage")
read -r n distinct <<<"$res"
log "poller: $n requests, $distinct distinct tokens"
((n >= 10)) || fail "the poller made only $n requests (it stalled)"
((distinct == 2)) || fail "the poller saw $distinct distinct tokens, expected the old and the new one"

log "subscribers saw refreshing -> retrying (idp_error) -> ... -> ready"
ev=$(grep '"event":"state"' "$MM_TMP/events" || true)
grep '"state":"retrying"' <<<"$ev" | grep -q '"code":"idp_error"' ||
    fail "no retrying event with idp_error: $ev"
[[ $(grep -c '"state":"retrying"' <<<"$ev") -ge 3 ]] || fail "fewer than 3 retrying events: $ev"
assert_contains "$(tail -n1 <<<"$ev")" '"state":"ready"' "the last event"

old=$new
for mode in garbage truncated; do
    log "$mode: the next refresh grants get a $mode 200 response"
    doc0=$(keyring_doc work)
    rt0=$(jqs .secret "$doc0")
    [[ -n $rt0 ]] || fail "no refresh token in the keyring"
    rg0=$(idp_stats refresh_grants)
    f0=$(idp_stats faults_served)
    idp_ctl fault "{\"endpoint\":\"token\",\"grant_type\":\"refresh_token\",\"mode\":\"$mode\",\"count\":-1}" >/dev/null
    assert_exit 0 helper token --min-ttl $((TTL + 60))
    assert_eq "$old" "$OUT" "$mode: the caller gets the old token"
    wait_pstate work retrying 5
    st=$(profile_status work)
    assert_eq idp_error "$(jqs .last_error.code "$st")" "$mode: last_error: $st"
    assert_eq ok "$(jqs .storage "$st")" "$mode: storage"
    assert_eq true "$(jqs .has_credential "$st")" "$mode: has_credential"
    [[ $(jqs .next_refresh_at "$st") =~ ^[0-9]+$ ]] || fail "$mode: no retry scheduled: $st"
    ((f0 < $(idp_stats faults_served))) || fail "$mode: the IdP served no fault"

    # Let at least one backoff retry meet the fault too.
    _retried() { (($(idp_stats faults_served) >= f0 + 2)); }
    wait_for "$mode: a retry" 10 _retried
    wait_pstate work retrying 5
    assert_eq "$doc0" "$(keyring_doc work)" "$mode: the keyring document after failed refreshes"
    introspect_ok "$rt0" "$mode: the stored refresh token after failed refreshes"
    assert_exit 0 helper token
    assert_eq "$old" "$OUT" "$mode: token while retrying"
    introspect_ok "$old" "$mode: the old access token while retrying"

    log "$mode: the IdP recovers; the refresh succeeds and the rotated token is stored"
    idp_clear_fault token
    wait_pstate work ready 20
    assert_eq null "$(pstatus work .last_error)" "$mode: last_error after the recovery"
    assert_exit 0 helper token
    [[ $OUT != "$old" ]] || fail "$mode: still the old token after the recovery"
    introspect_ok "$OUT" "$mode: the new token"
    old=$OUT
    rt1=$(stored_rt work)
    [[ $rt1 != "$rt0" ]] || fail "$mode: the rotated refresh token did not reach the keyring"
    introspect_ok "$rt1" "$mode: the new stored refresh token"
    assert_eq false "$(introspect_active "$rt0")" "$mode: the rotated-away refresh token"
    log "$mode: $(($(idp_stats refresh_grants) - rg0)) refresh grants"
done
assert_eq 1 "$(idp_stats authorization_code_grants)" "no second login"
log "ok"
