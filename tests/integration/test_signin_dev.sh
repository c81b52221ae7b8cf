#!/usr/bin/env bash
# Mimir's own login (dev login) with the real agent, keyring and the test MCP
# server's /auth/token (tests/mcp/auth.mjs: HS256 JWTs, no exp by default):
#  - `login --server URL` picks dev (the only way the server offers), names the
#    profile after the host, writes it as kind "mimir";
#  - a wrong password: exit 5, access_denied, nothing in the keyring, the
#    profile still login_required, no token;
#  - the right one (username from --username, then both from standard input):
#    signed in, the JWT is what token serves, the keyring holds it without the
#    password, a tool call through the proxy is made as that user;
#  - --remember-password keeps the password in the keyring (and nowhere else:
#    never in the agent's log, never on a command line);
#  - status says the mode in words and that a token without exp does not expire.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/mcp/lib.sh"
. "$MM_TOP/tests/lib_signin.sh"

PW_A=alice-pw-$RANDOM$RANDOM
PW_B=bob-pw-$RANDOM$RANDOM
start_mimir --users "alice:$PW_A,bob:$PW_B"
start_agent
P=$MIMIR_PROFILE

log "login --server with a wrong password: the profile is created, nothing is stored"
assert_exit 5 helper login --server "$MCP_BASE" --username alice <<<"not-the-password"
assert_contains "$OUT" "Profile $P ($MCP_URL: Mimir's own login (username and password)) saved in $MIMIR_CONFIG"
assert_contains "$ERR" "the server refused the username or password"
assert_eq '{"kind":"mimir","server_url":"'"$MCP_URL"'"}' "$(profile_cfg "$P")" "the profile written"
assert_eq "$P" "$(jq -r .default_profile "$MIMIR_CONFIG")" "the first profile becomes the default"
assert_eq "" "$(keyring_doc "$P")" "keyring after a refused password"
assert_eq login_required "$(pstatus "$P" .state)"
assert_eq false "$(pstatus "$P" .has_credential)"
assert_exit 4 helper token
assert_eq 1 "$(mcp_stats .token_refused)" "password grants the server refused"
assert_eq 0 "$(mcp_stats .token_grants)" "tokens the server issued"

log "the right password (username from --username, password from stdin)"
assert_exit 0 helper login --username alice <<<"$PW_A"
assert_eq "Signed in as alice (profile $P, the token does not expire)" "$(head -n1 <<<"$OUT")"
assert_exit 0 helper token
TOK=$OUT
assert_eq alice "$(jwt_claims "$TOK" | jq -r .sub)" "the token's subject"
assert_eq null "$(jwt_claims "$TOK" | jq -r .exp)" "no exp: the server set no lifetime"
doc=$(keyring_doc "$P")
assert_eq mimir "$(jqs .kind "$doc")" "the keyring document's kind"
assert_eq "$TOK" "$(jqs .token "$doc")" "the keyring holds the token"
assert_eq null "$(jqs .secret "$doc")" "no password in the keyring without --remember-password"
assert_eq alice "$(whoami "$P")" "a tool call through the proxy"
assert_exit 0 helper status
assert_contains "$OUT" "mode: Mimir's own login (kind mimir)"
assert_contains "$OUT" "next: token does not expire"
assert_contains "$OUT" "signed in as: alice"
assert_contains "$OUT" "store: keyring"

log "both lines from standard input, --remember-password"
assert_exit 0 helper login --remember-password <<<"bob
$PW_B"
assert_eq "Signed in as bob (profile $P, the token does not expire)" "$(head -n1 <<<"$OUT")"
assert_contains "$OUT" "The password is kept in the keyring"
doc=$(keyring_doc "$P")
assert_eq "$PW_B" "$(jqs .secret "$doc")" "the remembered password is in the keyring"
assert_eq bob "$(jqs .subject "$doc")"
assert_eq bob "$(whoami "$P")" "the proxy now sends bob's token"
assert_eq true "$(pstatus "$P" .has_credential)"

log "a wrong password for a signed-in profile changes nothing"
before=$(keyring_doc "$P")
assert_exit 5 helper login --username bob <<<"wrong"
assert_eq "$before" "$(keyring_doc "$P")" "the keyring after a refused password"
assert_eq bob "$(whoami "$P")" "still bob"

log "no password at all: a usage error, nothing sent"
grants=$(mcp_stats .token_grants)
assert_exit 2 helper login --username alice </dev/null
assert_contains "$ERR" "no password"
assert_eq "$grants" "$(mcp_stats .token_grants)"

log "the passwords never reach the agent's log"
assert_not_in_logs "a password" "$PW_A" "$PW_B"
stop_agent
log "ok"
