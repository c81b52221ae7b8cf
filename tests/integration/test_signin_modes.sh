#!/usr/bin/env bash
# `mimir-helper login --server URL` picks the way to sign in from what the
# server says (the test MCP server's /auth/config and RFC 9728 metadata,
# switched between runs; the real IdP behind its OAuth), writes the profile
# and, unless --no-login, signs in:
#  - dev login and OAuth both offered: an error listing --mode values without
#    a terminal, a menu on one (script(1) gives it a pty);
#  - only OAuth (a listed provider, or RFC 9728 metadata): kind oauth with that
#    issuer, a client id from --client-id (an error without one);
#  - only dev login: kind mimir; --mode api-key (what a server that only takes
#    API keys needs: its /auth/config looks like security off): the key from stdin;
#    security off: kind none, nothing to log in to;
#  - --json prints {"profile","mode","server_url"} (what the VS Code extension
#    reads); a second server does not take the default; a profile that changes
#    mode loses the settings of the old one; the agent is started on demand.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/mcp/lib.sh"
. "$MM_TOP/tests/lib_signin.sh"

KEY=modes_key_$RANDOM$RANDOM
start_idp
start_mimir --issuer "$IDP_ISSUER" --api-key "$KEY" --users alice:pw --oauth-providers
P=$MIMIR_PROFILE
export MM_AUTOSTART=1 # the first login --server starts the agent

log "dev login and OAuth offered, no terminal: an error naming the --mode values"
assert_exit 2 helper login --server "$MCP_BASE" --no-login
assert_contains "$ERR" "$MCP_URL offers several ways to sign in: choose one with --mode oauth|dev|api-key"
agent_answers || fail "login --server did not start the agent"
[[ ! -e $MIMIR_CONFIG ]] || fail "a refused choice wrote $MIMIR_CONFIG: $(cat "$MIMIR_CONFIG")"

log "the same on a terminal: a menu (answered with 2: dev)"
command -v script >/dev/null || fail "script(1) is missing (util-linux)"
out=$(printf '2\n' | timeout 30 script -qec "$MM_BUILD/mimir-helper login --server $MCP_BASE --no-login" /dev/null) ||
    fail "login --server on a terminal failed: $out"
assert_contains "$out" "1) oauth    OAuth sign-in at an identity provider"
assert_contains "$out" "2) dev      Mimir's own login (username and password)"
assert_contains "$out" "3) api-key  an API key issued by the server"
assert_eq mimir "$(profile_cfg "$P" | jq -r .kind)" "the kind chosen on the terminal"

log "--mode dev --json: what the VS Code extension runs"
assert_exit 0 helper login --server "$MCP_BASE" --mode dev --no-login --json
assert_eq "{\"profile\":\"$P\",\"mode\":\"dev\",\"server_url\":\"$MCP_URL\"}" "$OUT" "the JSON line"
assert_eq '{"kind":"mimir","server_url":"'"$MCP_URL"'"}' "$(profile_cfg "$P")"
assert_eq "$P" "$(jq -r .default_profile "$MIMIR_CONFIG")"

log "only OAuth (the IdP listed in oauthProviders): kind oauth, a client id needed"
mimir_auth '{"dev_login": false, "providers": true}'
assert_exit 2 helper login --server "$MCP_BASE" --profile second --no-login
assert_contains "$ERR" "the OAuth login needs the client id registered for Mimir at $IDP_ISSUER: pass --client-id ID"
assert_exit 0 helper login --server "$MCP_BASE" --profile second --client-id mimir-cli --no-login --json
assert_eq "{\"profile\":\"second\",\"mode\":\"oauth\",\"server_url\":\"$MCP_URL\"}" "$OUT"
assert_eq "{\"kind\":\"oauth\",\"server_url\":\"$MCP_URL\",\"issuer\":\"$IDP_ISSUER\",\"client_id\":\"mimir-cli\"}" \
    "$(profile_cfg second)" "the oauth profile"
assert_eq "$P" "$(jq -r .default_profile "$MIMIR_CONFIG")" "a second server does not take the default"

log "the profile switches from oauth to dev login: OAuth settings go, others stay"
jq '.profiles.second.ca_file = "/etc/ssl/certs/ca-certificates.crt" | .profiles.second.scope = "openid"' \
    "$MIMIR_CONFIG" >"$MM_TMP/c.json" && cat "$MM_TMP/c.json" >"$MIMIR_CONFIG"
mimir_auth '{"dev_login": true, "providers": false}'
assert_exit 0 helper login --server "$MCP_BASE" --profile second --no-login
assert_eq "{\"kind\":\"mimir\",\"server_url\":\"$MCP_URL\",\"ca_file\":\"/etc/ssl/certs/ca-certificates.crt\"}" \
    "$(profile_cfg second)" "the profile after the switch (its keys in their order)"
assert_eq mimir "$(pstatus second .kind)" "the agent reloaded the new kind"

log "nothing offered but API keys: --mode api-key, the key read from stdin"
mimir_auth '{"dev_login": false}'
assert_exit 0 helper login --server "$MCP_BASE" --profile keyed --mode api-key <<<"$KEY"
assert_contains "$OUT" "API key stored in the keyring for profile keyed"
assert_eq api-key "$(profile_cfg keyed | jq -r .kind)"
assert_eq api-key "$(whoami keyed)" "a tool call with the key"

log "security off: kind none, nothing to log in to"
mimir_auth '{"security": false}'
assert_exit 0 helper login --server "$MCP_BASE" --profile open
assert_contains "$OUT" "Profile open needs no credential: its server runs with security off."
assert_eq '{"kind":"none","server_url":"'"$MCP_URL"'"}' "$(profile_cfg open)"
assert_exit 2 helper login --server "$MCP_BASE" --profile open --mode dev --no-login
assert_contains "$ERR" "runs with security off"

log "modes that do not fit the server are refused"
mimir_auth '{"security": true, "dev_login": false, "providers": true}'
assert_exit 2 helper login --server "$MCP_BASE" --mode none --no-login
assert_contains "$ERR" "runs with security on"
assert_exit 2 helper login --server "$MCP_BASE" --mode dev --no-login
assert_contains "$ERR" "has its dev login turned off"
assert_exit 2 helper login --server "$MCP_BASE" --mode magic --no-login
assert_exit 2 helper login --server "$MCP_BASE" --profile 'no/slash' --no-login
assert_exit 2 helper login --mode dev
assert_contains "$ERR" "go with --server URL"
assert_exit 2 helper login --json

# Last: the agent keeps a server's RFC 9728 discovery for as long as it runs.
log "only OAuth through RFC 9728 metadata (no providers listed)"
mimir_auth '{"dev_login": false, "providers": false, "prm": true}'
assert_exit 0 helper login --server "$MCP_BASE" --profile prm --client-id mimir-cli --no-login --json
assert_eq oauth "$(jqs .mode "$OUT")"
assert_eq "$IDP_ISSUER" "$(profile_cfg prm | jq -r .issuer)" "the issuer from the server's metadata"

log "a server that is not Mimir"
assert_exit 5 helper login --server "$IDP_ISSUER" --profile idp --no-login
assert_contains "$ERR" "is this a Mimir server?"
log "ok"
