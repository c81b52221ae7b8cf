#!/usr/bin/env bash
# api-key profiles end to end: set-api-key, token/header/headers output
# formats, persistence in the real keyring across agent restarts, logout,
# and that the key never reaches the agent's log.
. "$(dirname "$0")/../lib.sh"

KEY="mk_live_$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')"
KEY2="mk_second_$(head -c 8 /dev/urandom | od -An -tx1 | tr -d ' \n')"

write_config '{
  "profiles": {
    "local": { "kind": "api-key", "server_url": "http://127.0.0.1:8080/mcp" },
    "corp":  { "kind": "oauth", "issuer": "https://id.example", "client_id": "mimir-cli" }
  },
  "default_profile": "local"
}'
start_agent --verbose # debug logging on: even then no secret may be logged

log "no key yet: token is login_required (exit 4) and says what to do"
assert_exit 4 helper token
assert_contains "$ERR" "set-api-key --profile local"
assert_eq "" "$OUT" "nothing on stdout when there is no token"

log "set-api-key reads the key from stdin"
assert_exit 0 helper set-api-key <<<"$KEY"
assert_contains "$OUT" "API key stored in the keyring for profile local"

log "token / header / headers print the key in their exact formats"
assert_exit 0 helper token
assert_eq "$KEY" "$OUT" "token output"
assert_exit 0 helper token --profile local
assert_eq "$KEY" "$OUT" "token --profile local"
assert_exit 0 helper header
assert_eq "X-API-Key: $KEY" "$OUT" "header output"
assert_exit 0 helper headers
assert_eq "{\"X-API-Key\":\"$KEY\"}" "$OUT" "headers output"
jq -e --arg k "$KEY" '.["X-API-Key"] == $k' <<<"$OUT" >/dev/null || fail "headers is not the expected JSON"

log "the keyring holds the JSON document (secret-tool sees it)"
doc=$(secret-tool lookup profile local) || fail "secret-tool finds no item for profile local"
assert_eq api_key "$(jqs .kind "$doc")" "document kind"
assert_eq "$KEY" "$(jqs .secret "$doc")" "document secret"
assert_eq 1 "$(jqs .v "$doc")" "document version"
jq -e '.updated_at | type == "number"' <<<"$doc" >/dev/null || fail "no updated_at in $doc"
label=$(secret-tool search --all profile local 2>&1 | grep '^label = ' || true)
assert_contains "$label" "Mimir credential (profile local)"

log "status shows the profile ready with a credential"
assert_exit 0 helper status --json
assert_eq ready "$(jqs '.[] | select(.name=="local") | .state' "$OUT")"
assert_eq true "$(jqs '.[] | select(.name=="local") | .has_credential' "$OUT")"
assert_eq ok "$(jqs '.[] | select(.name=="local") | .storage' "$OUT")"

log "keys go to api-key profiles only; bad keys and argv keys are refused"
assert_exit 1 helper set-api-key --profile corp <<<"$KEY2"
assert_contains "$ERR" "OAuth"
assert_exit 2 helper set-api-key "$KEY2"
assert_contains "$ERR" "standard input"
assert_exit 2 helper set-api-key </dev/null
assert_contains "$ERR" "no API key"
assert_exit 1 helper set-api-key <<<"has space inside"
assert_contains "$ERR" "bearer token"
assert_exit 0 helper token
assert_eq "$KEY" "$OUT" "a refused set-api-key must leave the old key in place"

log "agent restart: the key comes back from the keyring"
stop_agent
start_agent
assert_exit 0 helper token
assert_eq "$KEY" "$OUT" "token after restart"
assert_exit 0 helper headers
assert_eq "{\"X-API-Key\":\"$KEY\"}" "$OUT" "headers after restart"

log "set-api-key replaces the key (one keyring item, new secret)"
assert_exit 0 helper set-api-key <<<"$KEY2"
assert_exit 0 helper token
assert_eq "$KEY2" "$OUT" "token after replacing the key"
assert_eq "$KEY2" "$(jqs .secret "$(secret-tool lookup profile local)")" "keyring after replace"
n=$(secret-tool search --all profile local 2>&1 | grep -c '^label = ' || true)
assert_eq 1 "$n" "number of keyring items for profile local"

log "logout erases the keyring item and the agent's copy"
assert_exit 0 helper logout
assert_contains "$OUT" "Logged out of profile local"
if secret-tool lookup profile local >/dev/null 2>&1; then
    fail "secret-tool still finds the item after logout"
fi
assert_exit 4 helper token
assert_contains "$ERR" "no API key stored for profile local"
assert_exit 4 helper header

log "after logout and restart nothing comes back"
stop_agent
start_agent
assert_exit 4 helper token

log "no key ever reached a log"
stop_agent
for f in "$MM_TMP"/agent*.log; do
    if grep -qF -e "$KEY" -e "$KEY2" "$f"; then
        fail "an API key appears in $(basename "$f")"
    fi
done
grep -q 'API key stored in the keyring' "$MM_TMP/agent1.log" || fail "agent1.log lacks the store message (was the log captured?)"
log "ok"
