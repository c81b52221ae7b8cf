#!/usr/bin/env bash
# The refresh token is revoked at the IdP, end to end (real IdP, keyring,
# agent, chromium login): we revoke it ourselves with curl at the IdP's
# revocation_endpoint (from discovery), then force a refresh.  The IdP says
# invalid_grant, and:
#  - `mimir-helper token` exits 4 with a message telling to log in;
#  - status --json: login_required, no credential, no access_expires_at or
#    next_refresh_at, last_error login_required;
#  - a raw subscriber ({"op":"subscribe"} over socat) receives a state event
#    with state login_required and the error;
#  - a desktop notification goes out on the session bus (dbus-monitor);
#  - the agent does not keep retrying a dead grant.
# (Logging in again afterwards: test_refresh_relogin.sh.)
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/lib_refresh.sh"

signed_in_work
assert_exit 0 helper token
subscribe_start "$MM_TMP/events"
dbus-monitor --session "type='method_call',interface='org.freedesktop.Notifications',member='Notify'" \
    >"$MM_TMP/notify.log" 2>&1 &
track_pid "$!"
wait_for "dbus-monitor to start" 5 grep -q 'NameAcquired\|NameLost\|member=' "$MM_TMP/notify.log"

log "revoke the stored refresh token at the IdP's revocation endpoint"
rt=$(stored_rt work)
[[ -n $rt ]] || fail "no refresh token in the keyring"
introspect_ok "$rt" "the stored refresh token before the revocation"
revoke=$(curl -sS -f --max-time 10 "$IDP_ISSUER/.well-known/openid-configuration" | jq -r .revocation_endpoint)
[[ $revoke == "$IDP_ISSUER/"* ]] || fail "no revocation_endpoint in the discovery document: $revoke"
code=$(curl -sS -o /dev/null -w '%{http_code}' --max-time 10 --data-urlencode "token=$rt" \
    -d client_id=mimir-cli "$revoke")
assert_eq 200 "$code" "revocation status"
assert_eq false "$(introspect_active "$rt")" "the refresh token after the revocation"
rg0=$(idp_stats refresh_grants)

log "force a refresh: invalid_grant -> login_required, token exits 4"
assert_exit 4 helper token --min-ttl 9999
assert_contains "$ERR" "log in" "the message tells to log in"
assert_exit 4 helper token
assert_contains "$ERR" "mimir-helper login --profile work" "later requests say how to log in"
st=$(profile_status work)
assert_eq login_required "$(jqs .state "$st")" "state"
assert_eq login_required "$(jqs .last_error.code "$st")" "last_error: $st"
assert_eq false "$(jqs .has_credential "$st")" "has_credential"
assert_eq null "$(jqs .access_expires_at "$st")" "no access token after invalid_grant"
assert_eq null "$(jqs .next_refresh_at "$st")" "no refresh scheduled after invalid_grant"
assert_eq ok "$(jqs .storage "$st")" "storage"
assert_eq $((rg0 + 1)) "$(idp_stats refresh_grants)" "refresh grants"

log "the subscriber got a state event login_required"
_got_event() { grep '"event":"state"' "$MM_TMP/events" | grep -q '"state":"login_required"'; }
wait_for "a login_required event" 5 _got_event
ev=$(grep '"event":"state"' "$MM_TMP/events" | grep '"state":"login_required"' | tail -n1)
assert_eq 1 "$(jqs .v "$ev")" "event version"
assert_eq work "$(jqs .profile "$ev")" "event profile"
assert_eq login_required "$(jqs .error.code "$ev")" "event error: $ev"
assert_contains "$(jqs .error.message "$ev")" "log in" "event message"

log "a desktop notification was sent"
_notified() { grep -q 'Mimir: login required' "$MM_TMP/notify.log"; }
wait_for "a Notify call on the session bus" 5 _notified
grep -A8 'member=Notify' "$MM_TMP/notify.log" | grep -q "mimir-helper login --profile work" ||
    fail "the notification does not say how to log in: $(cat "$MM_TMP/notify.log")"

log "no retry loop on a dead grant"
sleep 2
assert_eq $((rg0 + 1)) "$(idp_stats refresh_grants)" "refresh grants 2 s later"
assert_eq login_required "$(pstatus work .state)"

log "ok"
