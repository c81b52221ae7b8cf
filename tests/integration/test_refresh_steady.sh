#!/usr/bin/env bash
# Silent refresh under steady use, end to end: two real IdPs with 3-second
# access tokens, one without and one with refresh-token rotation, one real
# agent with a profile on each (both logged in once through chromium), and a
# client per profile asking `mimir-helper token` every 100 ms for 30 s.
# Every request must succeed, every distinct token must be active at the IdP
# the moment it is received, and the agent must have refreshed proactively
# many times (refresh grants counted by the IdP close to 30 s / (0.75 * 3 s)).
# Also checks the status fields of a ready profile (state, access_expires_at,
# next_refresh_at, last_error, storage).
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/lib_refresh.sh"

TTL=3
SECS=${MM_REFRESH_SECS:-30}

start_idp --access-ttl "$TTL"
ISS_PLAIN=$IDP_ISSUER
start_idp --access-ttl "$TTL" --rotate-refresh
ISS_ROT=$IDP_ISSUER
write_config "$(jq -n --argjson a "$(IDP_ISSUER=$ISS_PLAIN oauth_profile_json plain)" \
    --argjson b "$(IDP_ISSUER=$ISS_ROT oauth_profile_json rot)" \
    '{default_profile: "plain", profiles: {plain: $a, rot: $b}}')"
use_login_browser
start_agent

log "log in both profiles through the browser"
login_profile plain
login_profile rot

log "status --json of a ready profile: state, access_expires_at, next_refresh_at, last_error, storage"
for p in plain rot; do
    st=$(profile_status "$p")
    now=$(now_s)
    assert_eq ready "$(jqs .state "$st")" "$p: state"
    assert_eq ok "$(jqs .storage "$st")" "$p: storage"
    assert_eq null "$(jqs .last_error "$st")" "$p: last_error of a healthy profile"
    assert_eq true "$(jqs .has_credential "$st")" "$p: has_credential"
    exp=$(jqs .access_expires_at "$st")
    nxt=$(jqs .next_refresh_at "$st")
    [[ $exp =~ ^[0-9]+$ && $nxt =~ ^[0-9]+$ ]] ||
        fail "$p: access_expires_at/next_refresh_at missing or not integers: $st"
    # The token lives TTL seconds; it is refreshed before it expires.
    ((exp > now && exp <= now + TTL + 1)) || fail "$p: access_expires_at $exp is not within ${TTL}s of now ($now)"
    ((nxt >= now - 1 && nxt < exp)) || fail "$p: next_refresh_at $nxt is not between now ($now) and access_expires_at ($exp)"
done
log "proactive: with no client asking, both profiles refresh on their own"
idle0_plain=$(IDP_ISSUER=$ISS_PLAIN idp_stats refresh_grants)
idle0_rot=$(IDP_ISSUER=$ISS_ROT idp_stats refresh_grants)
_idle_refreshed() {
    (($(IDP_ISSUER=$ISS_PLAIN idp_stats refresh_grants) > idle0_plain &&
        $(IDP_ISSUER=$ISS_ROT idp_stats refresh_grants) > idle0_rot))
}
wait_for "a refresh on each IdP without any token request" $((2 * TTL + 2)) _idle_refreshed
RT_ROT_0=$(stored_rt rot)
[[ -n $RT_ROT_0 ]] || fail "no refresh token in the keyring for profile rot"

before_plain=$(IDP_ISSUER=$ISS_PLAIN idp_stats refresh_grants)
before_rot=$(IDP_ISSUER=$ISS_ROT idp_stats refresh_grants)
log "poll 'token' every 100 ms for ${SECS}s on both profiles (refresh grants so far: $before_plain / $before_rot)"
token_poller plain "$ISS_PLAIN" "$SECS" "$MM_TMP/poll-plain"
pid_plain=$MM_POLLER_PID
token_poller rot "$ISS_ROT" "$SECS" "$MM_TMP/poll-rot"
pid_rot=$MM_POLLER_PID
wait "$pid_plain" || fail "the poller of plain failed"
wait "$pid_rot" || fail "the poller of rot failed"
after_plain=$(IDP_ISSUER=$ISS_PLAIN idp_stats refresh_grants)
after_rot=$(IDP_ISSUER=$ISS_ROT idp_stats refresh_grants)

res_plain=$(poller_check "$MM_TMP/poll-plain" "plain (no rotation)")
res_rot=$(poller_check "$MM_TMP/poll-rot" "rot (rotating refresh tokens)")
read -r n_plain tok_plain <<<"$res_plain"
read -r n_rot tok_rot <<<"$res_rot"
ref_plain=$((after_plain - before_plain))
ref_rot=$((after_rot - before_rot))
log "plain: $n_plain requests, $tok_plain distinct tokens, $ref_plain refresh grants"
log "rot:   $n_rot requests, $tok_rot distinct tokens, $ref_rot refresh grants"

# The client really polled for the whole time (about 10 requests a second
# on a quiet machine; at least one a second however busy it is).
min_req=$SECS
((n_plain >= min_req && n_rot >= min_req)) || fail "too few token requests ($n_plain, $n_rot; want >= $min_req)"

# Expected: SECS / (0.75 * TTL) = 13.3 refreshes in 30 s.  Accept 80%..135%:
# refreshing only on demand, when the token has expired, would give 10.
expected_x10=$((SECS * 10 * 4 / (3 * TTL))) # 10 x expected
lo=$(((expected_x10 * 80 + 999) / 1000))
hi=$(((expected_x10 * 135 + 999) / 1000))
((lo > 5)) || lo=6
for pair in "plain $ref_plain $tok_plain" "rot $ref_rot $tok_rot"; do
    read -r name ref tok <<<"$pair"
    ((ref >= lo && ref <= hi)) ||
        fail "$name: $ref refresh grants in ${SECS}s; expected about $((expected_x10 / 10)) ($lo..$hi)"
    # Each refresh gives a new access token and every one lives long enough to
    # be seen by a client polling every 100 ms.
    # (A refresh right before the first or after the last poll may go unseen.)
    ((tok >= ref - 1)) || fail "$name: only $tok distinct tokens for $ref refreshes"
done

log "after the run: both profiles ready, current tokens active, no new browser login"
for p in plain rot; do
    wait_pstate "$p" ready 5
    iss=$ISS_PLAIN
    [[ $p == rot ]] && iss=$ISS_ROT
    assert_exit 0 helper token --profile "$p"
    IDP_ISSUER=$iss introspect_ok "$OUT" "the current access token of $p"
    assert_eq 1 "$(IDP_ISSUER=$iss idp_stats authorization_code_grants)" "$p: authorization code grants"
done
assert_eq 2 "$(browser_runs)" "browser runs"

log "rotation: after a clean stop the keyring holds the live refresh token, the first one is dead"
# A clean stop waits for a refresh in flight and its keyring write (main.c,
# drain_then_stop), so stopping at any moment must leave the live token stored.
_ready() { [[ $(helper status --profile rot --json | jq -r .state) == ready ]]; }
wait_for "rot to be ready" $((3 * TTL)) _ready
stop_agent
RT_ROT=$(stored_rt rot)
[[ -n $RT_ROT && $RT_ROT != "$RT_ROT_0" ]] || fail "the refresh token of rot in the keyring never changed"
IDP_ISSUER=$ISS_ROT introspect_ok "$RT_ROT" "the refresh token of rot in the keyring"
assert_eq false "$(IDP_ISSUER=$ISS_ROT introspect_active "$RT_ROT_0")" \
    "the first refresh token of rot was rotated away"
log "ok"
