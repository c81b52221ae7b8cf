# tests/lib_signin.sh - Mimir's own sign-in, for tests/integration/test_signin_*.sh.
# Sourced AFTER lib.sh, lib_oauth.sh (keyring_doc, the IdP, the browser) and
# tests/mcp/lib.sh (the test MCP server, which speaks Mimir's auth contract:
# /auth/config, /auth/token, HS256 JWTs; see tests/mcp/auth.mjs).
#
#   start_mimir ARGS...      start_mcp ARGS; sets $MIMIR_PROFILE, the profile name
#                            `login --server $MCP_BASE` derives ("127.0.0.1-PORT")
#   mimir_auth JSON          switch its auth modes (POST /__test/auth)
#   mimir_user NAME PASS     add a user or change a password (PASS "null" removes)
#   mimir_jwt USER PASS      a token from its /auth/token (curl), printed
#   jwt_claims TOKEN         the JWT's payload (JSON)
#   whoami PROFILE           one tool call through `mimir-helper proxy --profile
#                            PROFILE` with the SDK's client: prints who the server saw
#   profile_cfg NAME         the profile's object in $MIMIR_CONFIG (JSON)

MIMIR_PROFILE=

start_mimir() {
    start_mcp "$@"
    MIMIR_PROFILE=127.0.0.1-${MCP_BASE##*:}
}

mimir_auth() { mcp_ctl auth "$1" >/dev/null; }

mimir_user() {
    local pw
    if [[ $2 == null ]]; then pw=null; else pw=$(jq -cn --arg p "$2" '$p'); fi
    mcp_ctl users "{\"name\":$(jq -cn --arg n "$1" '$n'),\"password\":$pw}" >/dev/null
}

mimir_jwt() {
    local r
    r=$(curl -sS -f --max-time 10 -H 'Content-Type: application/json' \
        --data-binary "$(jq -cn --arg u "$1" --arg p "$2" '{grant_type: "password", username: $u, password: $p}')" \
        "$MCP_BASE/auth/token") || fail "no token from $MCP_BASE/auth/token for $1"
    jq -r .access_token <<<"$r"
}

jwt_claims() {
    local p=${1#*.}
    p=${p%%.*}
    p=$(tr '_-' '/+' <<<"$p")
    while ((${#p} % 4)); do p+="="; done
    base64 -d <<<"$p"
}

whoami() {
    local r
    r=$(mcp_client --stdio "$PROXY --profile $1" call whoami) ||
        fail "the tool call through the proxy (profile $1) failed"
    [[ $(jq -r .isError <<<"$r") == false ]] || fail "whoami through the proxy: $r"
    jq -r .text <<<"$r"
}

profile_cfg() { jq -c --arg n "$1" '.profiles[$n]' "$MIMIR_CONFIG"; }
