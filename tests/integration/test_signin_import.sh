#!/usr/bin/env bash
# import-token: a Mimir token obtained elsewhere (a real JWT from the test
# server's /auth/token) stored for a profile of kind mimir, with the real
# agent and keyring:
#  - from standard input: token serves it, status has its exp, the proxy's
#    tool call is made as its subject; garbage, an expired JWT, a profile of
#    another kind are refused;
#  - --from-vscode: from a planted settings.json (comments, trailing commas,
#    look-alike strings): imported; --keep (and no answer without a
#    terminal) leave the file byte for byte; --remove deletes exactly the
#    mimir.auth.apiKey and mimir.auth.password members (the result compared
#    byte for byte with the expected file), keeps the old bytes as
#    settings.json.mimir.bak and the file's mode; code-server's settings are
#    found too.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/mcp/lib.sh"
. "$MM_TOP/tests/lib_signin.sh"

start_mimir --users "alice:apw,bob:bpw" --token-ttl 3600
start_agent
P=$MIMIR_PROFILE
assert_exit 0 helper login --server "$MCP_BASE" --mode dev --no-login

log "from standard input"
TOK=$(mimir_jwt alice apw)
assert_exit 0 helper import-token <<<"$TOK"
[[ $OUT == "Token imported: signed in as alice (profile $P, token valid until "* ]] || fail "import said: $OUT"
assert_exit 0 helper token
assert_eq "$TOK" "$OUT" "token serves the imported token"
assert_eq "$(jwt_claims "$TOK" | jq -r .exp)" "$(pstatus "$P" .access_expires_at)" "expiry from the JWT's exp"
assert_eq "$TOK" "$(jqs .token "$(keyring_doc "$P")")" "the keyring holds it"
assert_eq alice "$(whoami "$P")" "a tool call with the imported token"
assert_exit 0 helper status
assert_contains "$OUT" "next: token expires at "

log "what is refused"
assert_exit 1 helper import-token <<<"not a token"
assert_contains "$ERR" "bearer token"
assert_exit 2 helper import-token </dev/null
assert_exit 2 helper import-token "$TOK"
assert_contains "$ERR" "not from the command line"
mimir_auth '{"token_ttl": 1}'
OLD=$(mimir_jwt bob bpw)
exp=$(jwt_claims "$OLD" | jq -r .exp)
_expired() { (($(date +%s) > exp)); }
wait_for "the one-second token to expire" 5 _expired
assert_exit 1 helper import-token <<<"$OLD"
assert_contains "$ERR" "expired"
assert_exit 0 helper token
assert_eq "$TOK" "$OUT" "a refused import changes nothing"
mimir_auth '{"token_ttl": 3600}'
jq --arg u "$MCP_URL" '.profiles.keyed = {kind: "api-key", server_url: $u}' "$MIMIR_CONFIG" >"$MM_TMP/c" &&
    cat "$MM_TMP/c" >"$MIMIR_CONFIG"
helper reload >/dev/null
assert_exit 1 helper import-token --profile keyed <<<"$TOK"
assert_contains "$ERR" "set_api_key"

log "--from-vscode: a settings.json with comments"
BOB=$(mimir_jwt bob bpw)
S=$XDG_CONFIG_HOME/Code/User/settings.json
mkdir -p "$(dirname "$S")"
cat >"$S" <<JSONC
{
    // Editor
    "editor.fontSize": 14,
    "editor.rulers": [80, 100,], /* a trailing comma, VS Code allows it */
    "mimir.serverUrl": "$MCP_BASE",
    "mimir.auth.username": "bob",
    "mimir.auth.apiKey": "$BOB",
    "mimir.note": "not \"mimir.auth.apiKey\": // nor a comment",
    "mimir.auth.password": "bpw", // kept by Mimir's extension
    "files.exclude": {"mimir.auth.apiKey": true},
    "zzz.last": "x"
}
JSONC
cat >"$MM_TMP/expected.json" <<JSONC
{
    // Editor
    "editor.fontSize": 14,
    "editor.rulers": [80, 100,], /* a trailing comma, VS Code allows it */
    "mimir.serverUrl": "$MCP_BASE",
    "mimir.auth.username": "bob",
    "mimir.note": "not \"mimir.auth.apiKey\": // nor a comment",
    // kept by Mimir's extension
    "files.exclude": {"mimir.auth.apiKey": true},
    "zzz.last": "x"
}
JSONC
chmod 0640 "$S"
cp -p "$S" "$MM_TMP/original.json"

assert_exit 0 helper import-token --from-vscode --keep
assert_contains "$ERR" "Found mimir.auth.apiKey in $S"
assert_contains "$OUT" "Token imported: signed in as bob (profile $P"
cmp "$S" "$MM_TMP/original.json" || fail "--keep changed settings.json"
[[ ! -e $S.mimir.bak ]] || fail "--keep wrote a backup"
assert_exit 0 helper token
assert_eq "$BOB" "$OUT" "the token from settings.json"
assert_eq bob "$(whoami "$P")"

assert_exit 0 helper import-token --from-vscode </dev/null
assert_contains "$OUT" "is still in $S"
cmp "$S" "$MM_TMP/original.json" || fail "import-token without --remove or a terminal changed settings.json"

assert_exit 0 helper import-token --from-vscode --remove
assert_contains "$OUT" "Deleted mimir.auth.apiKey and mimir.auth.password from $S"
cmp "$S" "$MM_TMP/expected.json" || fail "settings.json after --remove:"$'\n'"$(diff "$MM_TMP/expected.json" "$S")"
cmp "$S.mimir.bak" "$MM_TMP/original.json" || fail "the backup is not the original"
assert_eq 640 "$(stat -c %a "$S")" "the file's mode"
assert_not_contains "$(cat "$S")" "$BOB" "the token left in settings.json"
assert_exit 4 helper import-token --from-vscode
assert_contains "$ERR" "no mimir.auth.apiKey in VS Code's settings"

log "--from-vscode finds code-server's settings"
CS=$XDG_DATA_HOME/code-server/User/settings.json
mkdir -p "$(dirname "$CS")"
printf '{"mimir.auth.apiKey": "%s"}' "$TOK" >"$CS"
assert_exit 0 helper import-token --from-vscode --remove
assert_eq '{}' "$(cat "$CS")" "code-server's settings after --remove"
assert_exit 0 helper token
assert_eq "$TOK" "$OUT"
assert_exit 2 helper import-token --remove <<<"$TOK"
assert_contains "$ERR" "go with --from-vscode"
stop_agent
assert_not_in_logs "a token" "$TOK" "$BOB"
log "ok"
