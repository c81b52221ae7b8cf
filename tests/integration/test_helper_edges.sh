#!/usr/bin/env bash
# The credential commands at their edges (real IdP, browser login, keyring,
# agent):
#  - token --format env: an export line a shell evaluates back to the exact
#    credential (an API key full of quotes and $), --var names the variable;
#  - token --format exec-credential: kubectl's ExecCredential v1 (checked
#    with jq), expirationTimestamp in RFC 3339 for an OAuth token, none for
#    an API key;
#  - a profile of kind none: headers is {} (nothing to send), token and
#    header say in one line that there is no credential;
#  - the 8 s deadline: headers, header and token give up with a one-line
#    message saying what to do, exit 6, before Claude Code's 10 s limit,
#    against a listener of our own uid that never answers and against an
#    agent whose refresh the identity provider never answers;
#  - status --json is indented with two spaces.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"
. "$MM_TOP/tests/lib_refresh.sh"

start_idp --access-ttl 300
write_config "$(jq -n --argjson w "$(oauth_profile_json work)" '{default_profile: "work",
    profiles: {work: $w, key: {kind: "api-key", server_url: "http://127.0.0.1:9/mcp"},
               open: {kind: "none", server_url: "http://127.0.0.1:9/mcp"}}}')"
use_login_browser
# The agent waits 30 s for the identity provider: longer than any client.
start_agent_loaded --http-timeout 30
login_profile work

one_line() { [[ -n $2 && $2 != *$'\n'* ]] || fail "$1: not one line on stderr: '$2'"; }

# Keys are token68 (letters, digits, - . _ ~ + / =): a leading ~ is what an
# unquoted shell word would expand.
KEY="~k.e_y-+/$(head -c 6 /dev/urandom | od -An -tx1 | tr -d ' \n')=="
assert_exit 0 helper set-api-key --profile key <<<"$KEY"

log "token --format env: evaluates back to the exact key"
assert_exit 0 helper token --profile key --format env
[[ $OUT == "export MIMIR_TOKEN='"* ]] || fail "not an export line: $OUT"
got=$(eval "$OUT" && printf '%s' "$MIMIR_TOKEN")
assert_eq "$KEY" "$got" "the evaluated MIMIR_TOKEN"
assert_exit 0 helper token --format env --var MY_KEY --profile key
got=$(eval "$OUT" && printf '%s' "$MY_KEY")
assert_eq "$KEY" "$got" "--var MY_KEY"
assert_exit 0 helper token --format env
got=$(eval "$OUT" && printf '%s' "$MIMIR_TOKEN")
assert_exit 0 helper token
assert_eq "$OUT" "$got" "--format env of the OAuth profile"

log "token --format exec-credential: kubectl's ExecCredential v1"
assert_exit 0 helper token --profile key --format exec-credential
jq -e --arg k "$KEY" '.apiVersion == "client.authentication.k8s.io/v1" and
    .kind == "ExecCredential" and .status.token == $k and
    (.status | has("expirationTimestamp") | not) and (keys == ["apiVersion", "kind", "status"])' \
    <<<"$OUT" >/dev/null || fail "API key ExecCredential: $OUT"
assert_exit 0 helper token --format exec-credential
cred=$OUT
assert_exit 0 helper token
tok=$OUT
exp=$(pstatus work .access_expires_at)
want=$(date -u -d "@$exp" +%Y-%m-%dT%H:%M:%SZ)
jq -e --arg t "$tok" --arg e "$want" '.apiVersion == "client.authentication.k8s.io/v1" and
    .kind == "ExecCredential" and .status.token == $t and .status.expirationTimestamp == $e' \
    <<<"$cred" >/dev/null || fail "OAuth ExecCredential (want expiry $want): $cred"
[[ $(jq -r .status.expirationTimestamp <<<"$cred") =~ ^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$ ]] ||
    fail "expirationTimestamp is not RFC 3339 UTC: $cred"

log "bad format options are usage errors"
assert_exit 2 helper token --format yaml
assert_contains "$ERR" "raw, env or exec-credential"
assert_exit 2 helper token --var X
assert_contains "$ERR" "--var goes with --format env"
assert_exit 2 helper token --format env --var 1X
assert_exit 2 helper token --format env --var 'A B'
assert_exit 2 helper headers --format env
assert_exit 2 helper header --var X
assert_exit 2 helper token extra
assert_exit 0 helper token --format raw --profile key
assert_eq "$KEY" "$OUT"

log "kind none: headers is {}, token and header say there is nothing to give"
assert_exit 0 helper headers --profile open
assert_eq "{}" "$OUT"
assert_exit 1 helper token --profile open
one_line "token of kind none" "$ERR"
assert_contains "$ERR" "kind none"
assert_exit 1 helper header --profile open
assert_contains "$ERR" "kind none"

log "status --json: two-space indentation, no tabs"
assert_exit 0 helper status --json
jq -e 'length == 3' <<<"$OUT" >/dev/null || fail "status --json: $OUT"
[[ $OUT != *$'\t'* ]] || fail "status --json has tabs"
grep -q '^  {$' <<<"$OUT" || fail "status --json is not indented by two spaces: $OUT"
grep -q '^    "name": "work",$' <<<"$OUT" || fail "status --json member lines: $OUT"

# bg_deadline NAME SOCKET ARGS...: the helper in the background against
# SOCKET, killed at 9.5 s as Claude Code kills a headersHelper at 10 s (exit
# 124 then): its own message must come first.  All run at once: one 8 s wait.
bg_deadline() {
    local name=$1 sock=$2
    shift 2
    (
        trap - ERR
        set +e
        MIMIR_AGENT_SOCK=$sock MIMIR_NO_AUTOSTART=1 timeout -k 1 9.5 "$MM_BUILD/mimir-helper" "$@"
    ) >"$MM_TMP/$name.out" 2>"$MM_TMP/$name.err" &
    MM_BG_PID[$name]=$!
    track_pid "$!"
}

log "8 s deadline: a listener of our own uid that never answers, and an identity provider"
log "  that never answers the refresh a request needs (min-ttl beyond the token's lifetime)"
silent=$MM_TMP/silent
mkdir -m 0700 "$silent"
# shellcheck disable=SC2016 # JavaScript
node -e 'const s = require("net").createServer((c) => c.on("data", () => {}));
    s.listen(process.argv[1], () => console.log("listening"));' "$silent/agent.sock" >"$MM_TMP/silent.out" &
track_pid $!
_silent_up() { grep -q listening "$MM_TMP/silent.out"; }
wait_for "the silent listener" 10 _silent_up
idp_ctl fault '{"endpoint":"token","grant_type":"refresh_token","mode":"hang","count":-1}' >/dev/null
for cmd in headers header token; do
    bg_deadline "silent-$cmd" "$silent/agent.sock" "$cmd"
done
bg_deadline silent-short "$silent/agent.sock" headers --timeout 2
bg_deadline idp-hang "$MIMIR_AGENT_SOCK" headers --min-ttl 3600
for cmd in headers header token; do
    bg_assert_exit "silent-$cmd" 6 15
    one_line "$cmd against a silent agent" "$ERR"
    assert_contains "$ERR" "did not answer in time (gave up after 8 s"
    assert_contains "$ERR" "restarting mimir-agent"
    assert_eq "" "$OUT" "$cmd printed something"
done
bg_assert_exit silent-short 6 15
assert_contains "$ERR" "gave up after 2 s"
bg_assert_exit idp-hang 6 15
one_line "headers during a hanging refresh" "$ERR"
assert_contains "$ERR" "waiting for the identity provider"
assert_eq "" "$OUT"
((${#ERR} < 400)) || fail "the message is too long for a client's status line: $ERR"
log "ok"
