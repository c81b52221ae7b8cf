#!/usr/bin/env bash
# Hostile input around a login (real IdP, real browser, real agent):
#  - header injection: an access token with CR/LF from the IdP is refused
#    (idp_error), nothing is stored, `header` never prints a second header;
#    an API key with CR/LF or non-ASCII over the socket is refused (issue:
#    `mimir-helper header` printed an injected header);
#  - the callback page escapes what it reflects and forbids scripts (issue:
#    error_description with a valid state was reflected as HTML);
#  - 50 idle connections on the redirect port do not block the real browser
#    (issue: any local user could hold its 16 slots).
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/lib_oauth.sh"

start_idp
write_config "$(jq -n --argjson w "$(oauth_profile_json work)" \
    '{default_profile:"work",profiles:{work:$w,local:{kind:"api-key",server_url:"http://127.0.0.1:8080/mcp"}}}')"
start_agent_loaded

log "an access token with CR/LF is refused"
idp_ctl token_override '{"fields":{"access_token":"abc\r\nX-Injected: yes"},"count":1}' >/dev/null
bg_helper inj login --no-browser --timeout 60
wait_login_url inj
run_login_browser "$LOGIN_URL"
bg_assert_exit inj 5
assert_contains "$ERR" "not a valid bearer token"
assert_eq "" "$(keyring_item work)" "a refused login stored something"
assert_exit 4 helper header
assert_not_contains "$OUT" "X-Injected" "header output"
assert_eq "" "$OUT" "header output after a refused token"

log "API keys with CR/LF or non-ASCII are refused over the socket"
for key in 'k\r\nX-Injected: yes' 'k\u00e9y' 'k y' ''; do
    r=$(sock_send "{\"v\":1,\"id\":1,\"op\":\"set_api_key\",\"profile\":\"local\",\"api_key\":\"$key\"}")
    assert_eq bad_request "$(jqs .error.code "$r")" "set_api_key with \"$key\": $r"
done
r=$(printf '{"v":1,"id":1,"op":"set_api_key","profile":"local","api_key":"k\xff"}\n' | sock_send_raw)
assert_eq bad_request "$(jqs .error.code "$r")" "set_api_key with invalid UTF-8: $r"
assert_eq "" "$(keyring_item local)" "a refused key was stored"

log "the callback page escapes what it reflects, under a CSP"
bg_helper xss login --no-browser --timeout 60
wait_login_url xss
port=$(url_port "$(url_param "$LOGIN_URL" redirect_uri)")
state=$(url_param "$LOGIN_URL" state)
iss=$(jq -rn --arg i "$IDP_ISSUER" '$i|@uri')
curl -sS --max-time 10 -D "$MM_TMP/h.txt" -o "$MM_TMP/p.html" \
    "http://127.0.0.1:$port/callback?state=$state&iss=$iss&error=access_denied&error_description=%3Cscript%3Ealert(1)%3C%2Fscript%3E%3Cimg%20src%3Dx%3E" ||
    fail "no answer from the redirect listener"
page=$(cat "$MM_TMP/p.html")
assert_not_contains "$page" "<script>" "the error page"
assert_not_contains "$page" "<img" "the error page"
assert_contains "$page" "&lt;script&gt;alert(1)&lt;/script&gt;" "the error page shows the text, escaped"
grep -qi "^Content-Security-Policy: default-src 'none'" "$MM_TMP/h.txt" ||
    fail "no Content-Security-Policy on the callback page: $(cat "$MM_TMP/h.txt")"
bg_assert_exit xss 5

log "50 idle connections on the redirect port do not block the browser"
bg_helper busy login --no-browser --timeout 90
wait_login_url busy
port=$(url_port "$(url_param "$LOGIN_URL" redirect_uri)")
fds=()
for i in $(seq 1 50); do
    exec {fd}<>"/dev/tcp/127.0.0.1/$port" || fail "idle connection $i was refused"
    fds+=("$fd")
done
run_login_browser "$LOGIN_URL"
bg_assert_exit busy 0
assert_contains "$OUT" "Signed in as"
for fd in "${fds[@]}"; do exec {fd}>&-; done
assert_exit 0 helper header
assert_eq 1 "$(wc -l <<<"$OUT")" "header prints exactly one line"
stop_agent
log "ok"
