#!/usr/bin/env bash
# Self-check of the test identity provider (idp.mjs) and the browser drivers
# (browser/login.mjs, browser/device.mjs) against each other, with curl as the
# client. Needs `npm ci` in tests/, curl, openssl and /usr/bin/chromium.
#   bash tests/idp/selftest.sh        (KEEP=1 keeps the work dir with all logs)
set -euo pipefail

TESTS=$(cd "$(dirname "$0")/.." && pwd)
cd "$TESTS" # so that node resolves jose from tests/node_modules
[ -d node_modules/oidc-provider ] || { echo "selftest: run 'npm ci' in $TESTS first" >&2; exit 1; }

WORK=$(mktemp -d)
PIDS=()
cleanup() {
  for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  if [ -n "${KEEP:-}" ]; then echo "selftest: kept $WORK" >&2; else rm -rf "$WORK"; fi
}
trap cleanup EXIT

FAILS=0
pass() { echo "ok   - $1"; }
fail() { echo "FAIL - $1" >&2; FAILS=$((FAILS + 1)); }
check() { # check DESCRIPTION COMMAND...
  local d=$1; shift
  if "$@"; then pass "$d"; else fail "$d"; fi
}
die() { echo "selftest: $*" >&2; exit 1; }

# js EXPR: evaluate EXPR with `o` = the JSON on stdin; prints strings raw.
js() {
  node -e 'const o = JSON.parse(require("fs").readFileSync(0, "utf8"));
    const v = eval(process.argv[1]);
    process.stdout.write(typeof v === "string" ? v : v === undefined ? "" : JSON.stringify(v));' "$1"
}
is_true() { [ "$(js "$1")" = true ]; }

# wait_line FILE: wait up to 15 s for the first line of FILE.
wait_line() {
  for _ in $(seq 150); do
    [ -s "$1" ] && head -1 "$1" | grep -q . && return 0
    sleep 0.1
  done
  die "nothing on $1"
}

# start_idp NAME ARGS...: sets ISS and CURL (curl with the right CA) for it.
start_idp() {
  local name=$1; shift
  node idp/idp.mjs "$@" >"$WORK/$name.out" 2>"$WORK/$name.err" &
  PIDS+=("$!")
  wait_line "$WORK/$name.out"
  ISS=$(head -1 "$WORK/$name.out" | js o.issuer)
  export ISS # read by the JS checks as process.env.ISS
}
C() { curl -sS --max-time 10 "${CA[@]}" "$@"; }
CTL() { C -X POST -H "Content-Type: application/json" -d "${2:-{\}}" "$ISS/__test/$1"; }

# browser_login SCOPE: authorization code + PKCE through login.mjs and a throwaway
# loopback listener; leaves the callback query in $WORK/cb.json and sets VERIFIER,
# NONCE, REDIRECT.
browser_login() {
  local pkce port state
  pkce=$(node -e 'const c = require("crypto"); const v = c.randomBytes(32).toString("base64url");
    console.log(v, c.createHash("sha256").update(v).digest("base64url"))')
  VERIFIER=${pkce% *}
  NONCE=$(node -e 'console.log(require("crypto").randomBytes(12).toString("hex"))')
  state=$(node -e 'console.log(require("crypto").randomBytes(12).toString("hex"))')
  node idp/catch-callback.mjs 40 >"$WORK/cb.out" &
  local cb=$!
  PIDS+=("$cb")
  wait_line "$WORK/cb.out"
  port=$(head -1 "$WORK/cb.out" | js o.port)
  REDIRECT="http://127.0.0.1:$port/callback"
  local url
  url="$ISS/auth?$(node -e 'console.log(new URLSearchParams({client_id: "mimir-cli",
    response_type: "code", scope: process.argv[1], redirect_uri: process.argv[2],
    state: process.argv[3], nonce: process.argv[4], code_challenge: process.argv[5],
    code_challenge_method: "S256"}).toString())' "$1" "$REDIRECT" "$state" "$NONCE" "${pkce#* }")"
  local t0=$SECONDS
  node browser/login.mjs "$url" 2>"$WORK/login.err" || { cat "$WORK/login.err" >&2; die "login.mjs failed"; }
  wait "$cb" || die "callback listener failed"
  tail -1 "$WORK/cb.out" >"$WORK/cb.json"
  echo "     (browser login took $((SECONDS - t0))s)"
  [ "$(js o.state <"$WORK/cb.json")" = "$state" ] || die "state mismatch"
}

exchange_code() {
  C -d grant_type=authorization_code -d client_id=mimir-cli -d "code=$(js o.code <"$WORK/cb.json")" \
    -d "code_verifier=$VERIFIER" --data-urlencode "redirect_uri=$REDIRECT" "$ISS/token"
}

# verify_id_token JSON_FILE NONCE_OR_EMPTY: signature via the IdP's JWKS, iss, aud, nonce.
verify_id_token() {
  # shellcheck disable=SC2016 # JS template literal, not shell
  node --input-type=module -e '
    import * as jose from "jose";
    import { readFileSync } from "node:fs";
    const [file, iss, nonce] = process.argv.slice(1);
    const { id_token } = JSON.parse(readFileSync(file, "utf8"));
    const jwks = jose.createRemoteJWKSet(new URL(`${iss}/jwks`));
    const { payload } = await jose.jwtVerify(id_token, jwks, { issuer: iss, audience: "mimir-cli" });
    if (nonce && payload.nonce !== nonce) throw new Error("nonce mismatch");
  ' "$1" "$ISS" "${2:-}" 2>"$WORK/verify.err"
}
claim() { node -e 'const t = JSON.parse(require("fs").readFileSync(0, "utf8")).id_token;
  console.log(JSON.stringify(JSON.parse(Buffer.from(t.split(".")[1], "base64url"))[process.argv[1]]))' "$1"; }
kid() { node -e 'const t = JSON.parse(require("fs").readFileSync(0, "utf8")).id_token;
  console.log(JSON.parse(Buffer.from(t.split(".")[0], "base64url")).kid)'; }

############################################################################ plain http
CA=()
start_idp idp --access-ttl 120
echo "# IdP at $ISS"
check "ready line has issuer, client_id, port" \
  is_true 'o.client_id === "mimir-cli" && o.issuer.endsWith(":" + o.port)' <"$WORK/idp.out"
check "stdout has exactly one line" [ "$(wc -l <"$WORK/idp.out")" = 1 ]

C "$ISS/.well-known/openid-configuration" >"$WORK/disc.json"
check "discovery: S256, iss parameter, device endpoint" is_true \
  'o.code_challenge_methods_supported.includes("S256") && o.authorization_response_iss_parameter_supported
   && !!o.device_authorization_endpoint && !!o.revocation_endpoint && o.issuer === process.env.ISS' \
  <"$WORK/disc.json"
check "RFC 8414 document is the same" \
  cmp -s "$WORK/disc.json" <(C "$ISS/.well-known/oauth-authorization-server")

# -- control API
check "stats start at zero" is_true 'o.token_requests === 0 && o.refresh_grants === 0' < <(C "$ISS/__test/stats")
CTL fault '{"endpoint":"token","mode":"status","status":503,"count":1}' >/dev/null
status() { C -o /dev/null -w '%{http_code}' -d grant_type=refresh_token -d client_id=mimir-cli -d refresh_token=nope "$ISS/token"; }
check "fault 503 once" [ "$(status)" = 503 ]
check "then the real token endpoint (400 invalid_grant)" [ "$(status)" = 400 ]
check "stats counted both refresh requests" \
  is_true 'o.token_requests === 2 && o.refresh_grants === 2 && o.faults_served === 1' < <(C "$ISS/__test/stats")
CTL fault '{"endpoint":"token","mode":"status","status":400,"error":"invalid_grant","grant_type":"authorization_code","count":-1}' >/dev/null
check "grant_type filter leaves other grants alone" [ "$(status)" = 400 ]
check "grant_type filter: fault not served" is_true 'o.faults_served === 1' < <(C "$ISS/__test/stats")
CTL fault '{"endpoint":"token","mode":"garbage","count":1}' >/dev/null
check "garbage mode" [ "$(C -d grant_type=refresh_token "$ISS/token")" = '<html>not json' ]
CTL fault '{"endpoint":"token","mode":"truncated","count":1}' >/dev/null
check "truncated mode" [ "$(C -d grant_type=refresh_token "$ISS/token")" = '{"access_token":"abc' ]
CTL fault '{"endpoint":"token","mode":"hang","count":1}' >/dev/null
rc=0; curl -sS --max-time 1 -d grant_type=refresh_token "$ISS/token" 2>/dev/null || rc=$?
check "hang mode holds the request (curl timed out)" [ "$rc" = 28 ]
CTL fault '{"endpoint":"jwks","mode":"status","status":500,"count":1}' >/dev/null
check "jwks fault" [ "$(C -o /dev/null -w '%{http_code}' "$ISS/jwks")" = 500 ]
CTL fault '{"endpoint":"discovery","mode":"garbage","count":1}' >/dev/null
check "discovery fault" [ "$(C "$ISS/.well-known/oauth-authorization-server")" = '<html>not json' ]
CTL discovery '{"drop_s256":true}' >/dev/null
check "drop_s256" is_true 'o.code_challenge_methods_supported.join() === "plain"' \
  < <(C "$ISS/.well-known/openid-configuration")
CTL reset >/dev/null
check "reset: S256 back" is_true 'o.code_challenge_methods_supported.join() === "S256"' \
  < <(C "$ISS/.well-known/oauth-authorization-server")
check "reset: stats zero, faults gone" is_true 'o.token_requests === 0 && o.faults_served === 0' \
  < <(C "$ISS/__test/stats")
check "reset: token endpoint answers normally" [ "$(status)" = 400 ]
CTL reset >/dev/null

# -- authorization code + PKCE through the real browser
browser_login "openid offline_access profile email"
check "callback has code and RFC 9207 iss" is_true '!!o.code && o.iss === process.env.ISS' <"$WORK/cb.json"
exchange_code >"$WORK/tok.json"
check "code exchange: access, id and refresh tokens" \
  is_true '!!(o.access_token && o.id_token && o.refresh_token) && o.token_type === "Bearer"' <"$WORK/tok.json"
check "ID token verifies (JWKS, iss, aud, nonce)" verify_id_token "$WORK/tok.json" "$NONCE"
check "ID token sub is the login name" [ "$(claim sub <"$WORK/tok.json")" = '"alice"' ]
RT=$(js o.refresh_token <"$WORK/tok.json")
AT1=$(js o.access_token <"$WORK/tok.json")
export AT1
refresh() { C -d grant_type=refresh_token -d client_id=mimir-cli -d "refresh_token=$1" "$ISS/token"; }
refresh "$RT" >"$WORK/ref.json"
check "refresh: new access token" is_true '!!o.access_token && o.access_token !== process.env.AT1' <"$WORK/ref.json"
check "refresh: no rotation by default" [ "$(js o.refresh_token <"$WORK/ref.json")" = "$RT" ]
AT2=$(js o.access_token <"$WORK/ref.json")
check "stats: 1 code grant, 1 refresh" \
  is_true 'o.authorization_code_grants === 1 && o.refresh_grants === 1' < <(C "$ISS/__test/stats")
check "introspect: access token active" \
  is_true 'o.active && o.kind === "AccessToken" && o.sub === "alice"' < <(CTL introspect "{\"token\":\"$AT2\"}")
check "introspect: nonsense inactive" is_true '!o.active && o.kind === null' < <(CTL introspect '{"token":"nope"}')

# -- forged ID tokens (through refresh responses, which carry an id_token too)
for mode in wrong_aud wrong_iss wrong_nonce expired wrong_key; do
  CTL idtoken "{\"mode\":\"$mode\"}" >/dev/null
  refresh "$RT" >"$WORK/forged.json"
  rc=0; verify_id_token "$WORK/forged.json" "$NONCE" || rc=$?
  check "forged ID token ($mode) is rejected by jose" [ "$rc" != 0 ]
  refresh "$RT" >"$WORK/after.json"
  check "only the next ID token is forged ($mode)" verify_id_token "$WORK/after.json" "$NONCE"
done
CTL idtoken '{"mode":"wrong_aud"}' >/dev/null
check "wrong_aud claim" [ "$(refresh "$RT" | claim aud)" = '"mimir-other"' ]
OLDKID=$(kid <"$WORK/after.json")
CTL idtoken '{"mode":"rotated_key"}' >/dev/null
refresh "$RT" >"$WORK/rot.json"
check "rotated_key: new kid" [ "$(kid <"$WORK/rot.json")" != "$OLDKID" ]
check "rotated_key: verifies once JWKS is refetched" verify_id_token "$WORK/rot.json" "$NONCE"
check "rotated_key: JWKS publishes both keys" is_true 'o.keys.length === 2' < <(C "$ISS/jwks")

# -- revocation
C -d client_id=mimir-cli -d token_type_hint=refresh_token -d "token=$RT" "$ISS/token/revocation" >/dev/null
check "revocation counted" is_true 'o.revocations === 1' < <(C "$ISS/__test/stats")
check "introspect: revoked refresh token inactive" is_true '!o.active' < <(CTL introspect "{\"token\":\"$RT\"}")
check "introspect: its grant's access token inactive too" is_true '!o.active' < <(CTL introspect "{\"token\":\"$AT2\"}")
check "refresh with revoked token: invalid_grant" [ "$(refresh "$RT" | js o.error)" = invalid_grant ]
# (done last: oidc-provider revokes the whole grant when a code is replayed)
check "code is single use" [ "$(exchange_code | js o.error)" = invalid_grant ]

# -- the user says no
node idp/catch-callback.mjs 40 >"$WORK/deny.out" &
DCB=$!; PIDS+=("$DCB")
wait_line "$WORK/deny.out"
DPORT=$(head -1 "$WORK/deny.out" | js o.port)
MIMIR_TEST_DENY=1 MIMIR_TEST_BROWSER_LOG="$WORK/browser.log" node browser/login.mjs \
  "$ISS/auth?client_id=mimir-cli&response_type=code&scope=openid&state=s1&redirect_uri=http%3A%2F%2F127.0.0.1%3A$DPORT%2Fcallback&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256" \
  2>"$WORK/deny.err" || { cat "$WORK/deny.err" >&2; fail "login.mjs deny exit status"; }
wait "$DCB" || true
check "deny: callback got error=access_denied" is_true 'o.error === "access_denied" && o.state === "s1"' < <(tail -1 "$WORK/deny.out")
check "browser log line written" is_true 'o.outcome === "denied" && o.script === "login.mjs"' <"$WORK/browser.log"

# -- the callback listener is gone: login.mjs must fail, not hang
rc=0; MIMIR_TEST_BROWSER_TIMEOUT=20 node browser/login.mjs \
  "$ISS/auth?client_id=mimir-cli&response_type=code&scope=openid&state=s2&redirect_uri=http%3A%2F%2F127.0.0.1%3A$DPORT%2Fcallback&code_challenge=E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM&code_challenge_method=S256" \
  2>"$WORK/gone.err" || rc=$?
check "login.mjs fails fast when the callback listener is gone" [ "$rc" = 1 ]
check "... saying why" grep -q ERR_CONNECTION_REFUSED "$WORK/gone.err"

# -- device authorization grant (RFC 8628)
C -d client_id=mimir-cli -d "scope=openid offline_access" "$ISS/device/auth" >"$WORK/dev.json"
DC=$(js o.device_code <"$WORK/dev.json")
devpoll() { C -d grant_type=urn:ietf:params:oauth:grant-type:device_code -d client_id=mimir-cli -d "device_code=$DC" "$ISS/token"; }
check "device: pending before the user acts" [ "$(devpoll | js o.error)" = authorization_pending ]
MIMIR_TEST_USER=bob node browser/device.mjs "$(js o.verification_uri <"$WORK/dev.json")" \
  "$(js o.user_code <"$WORK/dev.json")" 2>"$WORK/device.err" || { cat "$WORK/device.err" >&2; die "device.mjs failed"; }
sleep 5 # the device's polling interval
devpoll >"$WORK/devtok.json"
check "device: access, id and refresh tokens for bob" \
  is_true '!!(o.access_token && o.refresh_token) && JSON.parse(Buffer.from(o.id_token.split(".")[1], "base64url")).sub === "bob"' \
  <"$WORK/devtok.json"
check "stats: device grants counted" is_true 'o.device_code_grants === 2' < <(C "$ISS/__test/stats")

############################################################# https + refresh rotation
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj /CN=127.0.0.1 \
  -addext subjectAltName=IP:127.0.0.1 -keyout "$WORK/key.pem" -out "$WORK/cert.pem" 2>/dev/null
start_idp idps --cert "$WORK/cert.pem" --key "$WORK/key.pem" --rotate-refresh --access-ttl 2
CA=(--cacert "$WORK/cert.pem")
echo "# IdP at $ISS"
check "https issuer" is_true 'o.issuer.startsWith("https://127.0.0.1:")' <"$WORK/idps.out"
check "https discovery" is_true 'o.token_endpoint.startsWith("https://")' < <(C "$ISS/.well-known/openid-configuration")
browser_login "openid offline_access"
exchange_code >"$WORK/tok.json"
check "https login: tokens, expires_in 2" is_true '!!o.refresh_token && o.expires_in === 2' <"$WORK/tok.json"
RT1=$(js o.refresh_token <"$WORK/tok.json")
sleep 3
check "short access token expired" is_true '!o.active' < <(CTL introspect "{\"token\":\"$(js o.access_token <"$WORK/tok.json")\"}")
RT2=$(refresh "$RT1" | js o.refresh_token)
check "--rotate-refresh: new refresh token" [ "$RT2" != "$RT1" ]
check "old refresh token inactive" is_true '!o.active' < <(CTL introspect "{\"token\":\"$RT1\"}")
check "new refresh token active" is_true 'o.active && o.kind === "RefreshToken"' < <(CTL introspect "{\"token\":\"$RT2\"}")

############################################################# shutdown
kill -TERM "${PIDS[0]}"
rc=0; wait "${PIDS[0]}" || rc=$?
check "SIGTERM: exit 0" [ "$rc" = 0 ]
node idp/idp.mjs --exit-on-stdin-eof </dev/null >/dev/null 2>&1 &
EOFPID=$!
(sleep 10; kill "$EOFPID" 2>/dev/null) &
WATCHDOG=$!
rc=0; wait "$EOFPID" || rc=$?
kill "$WATCHDOG" 2>/dev/null || true
check "--exit-on-stdin-eof exits when stdin closes" [ "$rc" = 0 ]

if [ "$FAILS" -gt 0 ]; then
  echo "selftest: $FAILS check(s) failed" >&2
  exit 1
fi
echo "selftest: all checks passed"
