#!/usr/bin/env bash
# The encrypted file store, where there is no Secret Service at all (no
# D-Bus session): the agent picks the vault by itself, and
#  - the first unlock creates it (passphrase asked twice), status says
#    "store": "file"; lock forgets the key and every credential; a wrong
#    passphrase is refused; unlock brings the credentials back;
#  - an OAuth login with rotating refresh tokens lives in the vault, and
#    kill -9 right after rotations loses no login (as with the keyring);
#  - a flipped byte is reported as tampering, and the vault is not rewritten;
#  - no token is anywhere under HOME in plaintext.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/lib_refresh.sh"

unset DBUS_SESSION_BUS_ADDRESS # no session bus: nothing to find a keyring on
VAULT=$XDG_DATA_HOME/mimir/vault
PASS="correct horse battery staple"
KEY=vault_key_0123456789
start_idp --access-ttl 60 --rotate-refresh
write_config "$(jq -n --argjson w "$(oauth_profile_json work)" \
    '{default_profile:"work",profiles:{work:$w,local:{kind:"api-key",server_url:"http://127.0.0.1:8080/mcp"}}}')"
use_login_browser
start_agent

log "before the first unlock: no vault, a clear error"
assert_exit 0 helper status --json
assert_eq file "$(jqs .store "$(sock_send '{"v":1,"id":1,"op":"status"}')")" "status: store"
assert_exit 4 helper token --profile local
assert_contains "$ERR" "mimir-helper unlock"

log "the first unlock creates the vault (passphrase twice)"
assert_exit 2 helper unlock <<<"$PASS"$'\n'"something else"
assert_contains "$ERR" "differ"
[[ ! -e $VAULT ]] || fail "a vault was created although the passphrases differ"
assert_exit 0 helper unlock <<<"$PASS"$'\n'"$PASS"
assert_contains "$OUT" "created"
assert_eq 600 "$(stat -c %a "$VAULT")" "the vault's mode"
assert_eq 700 "$(stat -c %a "$(dirname "$VAULT")")" "its directory's mode"
assert_exit 0 helper set-api-key --profile local <<<"$KEY"
assert_exit 0 helper token --profile local
assert_eq "$KEY" "$OUT"
r=$(sock_send '{"v":1,"id":1,"op":"status","profile":"local"}')
assert_eq file "$(jqs .profile.store "$r")" "the profile's store"

log "lock forgets; a wrong passphrase is refused; unlock brings it back"
assert_exit 0 helper lock
assert_exit 4 helper token --profile local
assert_contains "$ERR" "unlock"
assert_exit 1 helper unlock <<<"wrong passphrase"
assert_contains "$ERR" "wrong passphrase"
assert_exit 0 helper unlock <<<"$PASS"
wait_for "the profile to read its key again" 10 helper token --profile local
assert_exit 0 helper token --profile local
assert_eq "$KEY" "$OUT" "the key after unlock"

log "OAuth with rotation in the vault; kill -9 after rotations loses nothing"
login_profile work
for round in 1 2 3; do
    assert_exit 0 helper token --min-ttl 3600
    kill -9 "$MM_AGENT_PID"
    wait_agent_exit 5
    start_agent
    assert_exit 0 helper unlock <<<"$PASS"
    wait_for "the login to come back (round $round)" 15 helper token
    assert_exit 0 helper token
    introspect_ok "$OUT" "the token after kill -9 (round $round)"
done
at=$(helper token)

log "no token in plaintext under HOME"
for secret in "$KEY" "$at"; do
    if grep -rqF "$secret" "$HOME" 2>/dev/null; then
        fail "a credential is in plaintext: $(grep -rlF "$secret" "$HOME")"
    fi
done
printf '%s\n' "$KEY" >"$HOME/probe" # the grep above can find what is there
grep -rqF "$KEY" "$HOME" || fail "grep cannot find a file holding the key"
rm "$HOME/probe"

log "a flipped byte is tampering; the vault is not rewritten"
stop_agent
size=$(stat -c %s "$VAULT")
printf '\x55' | dd of="$VAULT" bs=1 seek=$((size - 20)) conv=notrunc status=none
cp "$VAULT" "$MM_TMP/tampered"
start_agent
assert_exit 1 helper unlock <<<"$PASS"
assert_contains "$ERR" "altered or damaged"
assert_exit 4 helper token --profile local
cmp -s "$VAULT" "$MM_TMP/tampered" || fail "the tampered vault was rewritten"
stop_agent
log "ok"
