# tests/lib_oauth.sh - the real identity provider, the real browser and the
# keyring, for the login tests.  Sourced AFTER lib.sh:
#
#     . "$(dirname "$0")/../lib.sh"
#     . "$MM_TOP/tests/lib_oauth.sh"     (lib.sh has changed into $MM_TMP by now)
#
# The IdP is tests/idp/idp.mjs (oidc-provider) on 127.0.0.1; the browser is
# Debian's chromium driven by tests/browser/login.mjs / device.mjs.  Nothing
# here is a mock.
#
# IdP
#   start_idp [ARGS]        node tests/idp/idp.mjs ARGS (e.g. --cert F --key F,
#                           --access-ttl N); waits for its JSON line and sets
#                           $IDP_ISSUER $IDP_PORT $IDP_PID $IDP_LOG; curl calls to
#                           it trust --cert automatically ($IDP_CURL_CA)
#   idp_ctl ROUTE [JSON]    POST /__test/ROUTE (fault, idtoken, discovery, reset,
#                           introspect); prints the JSON answer; fails on HTTP errors
#   idp_stats [FIELD]       GET /__test/stats (or one number of it)
#   introspect TOKEN        the IdP's own view of TOKEN: {"active","kind","sub",...}
#   token_active TOKEN      true when the IdP says TOKEN is active
# Profiles
#   write_oauth_config NAME [EXTRA_JSON]  a config whose default profile NAME is an
#                           oauth profile on $IDP_ISSUER (client_id mimir-cli, default
#                           scope); EXTRA_JSON is merged into it ({"issuer":null}
#                           removes a key)
#   oauth_profile_json NAME [EXTRA_JSON]  just that profile's JSON (for bigger configs)
#   start_agent_loaded ARGS start_agent, then wait until no profile is "loading"
#   profile_status NAME     the agent's status object for NAME (JSON)
#   pstatus NAME FILTER     jq -r FILTER on that object
# Browser
#   use_login_browser       export BROWSER (login.mjs, its output appended to
#                           $MM_BROWSER_OUT); `helper login` opens it from the
#                           test's environment (call it before start_agent too
#                           when the agent itself is to open one: a notification's
#                           Sign in)
#   browser_starts          how often $BROWSER was started so far (counted the
#                           moment it starts, unlike browser_runs)
#   browser_runs            number of browser runs logged so far
#   browser_run N           the Nth logged run (JSON line), N from 1
#   wait_browser_runs N     wait until N runs are logged
#   run_login_browser URL   drive login.mjs on URL from the test (env as given)
#   run_device_browser ARGS drive device.mjs
# Helpers in the background
#   bg_helper NAME ARGS...  `helper ARGS` in the background, stdout/stderr in
#                           $MM_TMP/NAME.out / NAME.err
#   bg_wait NAME [SECS]     wait for it; exit status in $BG_RC, output in $OUT/$ERR
#   bg_assert_exit NAME CODE [SECS]  bg_wait + compare the exit status
#   wait_login_url NAME     wait until it printed the authorization URL; sets $LOGIN_URL
#   wait_device_code NAME   ... the device challenge; sets $DEV_URI $DEV_URI_COMPLETE $DEV_CODE
# Keyring and URLs
#   keyring_item PROFILE    everything secret-tool knows about the item (label,
#                           secret, dates, attributes, sorted); empty when none
#   keyring_doc PROFILE     the stored JSON document (empty when none)
#   url_param URL KEY       a decoded query parameter of URL (empty when absent)
#   url_port URL            the port of URL
#   port_open PORT          true when 127.0.0.1:PORT accepts a connection
#   assert_not_in_logs WHAT SECRET...  no agent log contains any SECRET

for _t in node curl openssl jq; do
    command -v "$_t" >/dev/null || skip "$_t is missing (run tests/deps.sh)"
done
[[ -x /usr/bin/chromium ]] || skip "/usr/bin/chromium is missing (run tests/deps.sh)"
[[ -d $MM_TOP/tests/node_modules/oidc-provider && -d $MM_TOP/tests/node_modules/playwright-core ]] ||
    skip "node modules missing: run 'npm ci' in tests/"

MM_IDP_MJS=$MM_TOP/tests/idp/idp.mjs
MM_LOGIN_MJS=$MM_TOP/tests/browser/login.mjs
MM_DEVICE_MJS=$MM_TOP/tests/browser/device.mjs
export MIMIR_TEST_BROWSER_LOG=$MM_TMP/browser.log
export MIMIR_TEST_BROWSER_TIMEOUT=${MIMIR_TEST_BROWSER_TIMEOUT:-40}
# The helper picks the device grant without a display or $BROWSER: the tests say
# what they want explicitly.
unset DISPLAY WAYLAND_DISPLAY BROWSER MIMIR_TEST_DENY MIMIR_TEST_USER

IDP_N=0
IDP_ISSUER=
IDP_PORT=
IDP_PID=
IDP_LOG=
IDP_CURL_CA=()
declare -A MM_BG_PID=()
BG_RC=

# ---- the identity provider ---------------------------------------------------

start_idp() {
    IDP_N=$((IDP_N + 1))
    local out=$MM_TMP/idp$IDP_N.json i
    IDP_LOG=$MM_TMP/idp$IDP_N.log
    IDP_CURL_CA=()
    for ((i = 1; i <= $#; i++)); do
        if [[ ${!i} == --cert ]]; then
            local j=$((i + 1))
            IDP_CURL_CA=(--cacert "${!j}")
        fi
    done
    node "$MM_IDP_MJS" "$@" >"$out" 2>"$IDP_LOG" &
    IDP_PID=$!
    track_pid "$IDP_PID"
    local deadline=$((SECONDS + 30))
    until [[ -s $out ]] && head -n1 "$out" | jq -e .issuer >/dev/null 2>&1; do
        if pid_gone "$IDP_PID"; then
            cat "$IDP_LOG" >&2
            fail "the test IdP exited during startup"
        fi
        ((SECONDS < deadline)) || fail "the test IdP printed no issuer within 30s"
        sleep 0.05
    done
    IDP_ISSUER=$(head -n1 "$out" | jq -r .issuer)
    IDP_PORT=$(head -n1 "$out" | jq -r .port)
    log "IdP $IDP_ISSUER (pid $IDP_PID)"
}

_idp_curl() { curl -sS -f --max-time 15 "${IDP_CURL_CA[@]}" "$@"; }

idp_ctl() {
    local route=$1 body=${2:-'{}'}
    _idp_curl -X POST -H 'Content-Type: application/json' --data-binary "$body" \
        "$IDP_ISSUER/__test/$route" || fail "IdP control call $route $body failed"
}

idp_stats() {
    local s
    s=$(_idp_curl "$IDP_ISSUER/__test/stats") || fail "IdP stats unavailable"
    if [[ -n ${1:-} ]]; then jq -r ".$1" <<<"$s"; else echo "$s"; fi
}

introspect() {
    idp_ctl introspect "$(jq -cn --arg t "$1" '{token: $t}')"
}

token_active() { [[ $(introspect "$1" | jq -r .active) == true ]]; }

# ---- profiles ------------------------------------------------------------------

oauth_profile_json() {
    jq -cn --arg iss "$IDP_ISSUER" --argjson extra "${2:-{\}}" \
        '{kind: "oauth", issuer: $iss, client_id: "mimir-cli"} + $extra
         | with_entries(select(.value != null))'
}

write_oauth_config() {
    local name=$1
    write_config "$(jq -n --arg n "$name" --argjson p "$(oauth_profile_json "$@")" \
        '{default_profile: $n, profiles: {($n): $p}}')"
}

# start_agent, then wait until every profile has read its keyring item, so that
# the tests here do not depend on how a login overlaps the initial keyring read
# (until e55d414 the read's end overwrote "logging_in": agent/profile.c loaded()).
_mm_all_loaded() {
    helper status --json 2>/dev/null | jq -e 'all(.[]; .state != "loading")' >/dev/null
}
start_agent_loaded() {
    start_agent "$@"
    wait_for "every profile to load its keyring item" 40 _mm_all_loaded
}

profile_status() {
    local s
    s=$(helper status --profile "$1" --json) || fail "status --profile $1 failed"
    echo "$s"
}

pstatus() { jq -r "$2" <<<"$(profile_status "$1")"; }

# ---- the browser -----------------------------------------------------------------

# Whoever starts the browser, its output (login.mjs's steps, the callback
# page's text) lands in one file: the helper discards a browser's output
# unless it writes to a terminal.
MM_BROWSER_OUT=$MM_TMP/browser.out
use_login_browser() {
    local w=$MM_TMP/login-browser
    printf '#!/bin/sh\necho "$1" >>"%s"\nexec node "%s" "$@" >>"%s" 2>&1\n' \
        "$MM_TMP/browser.starts" "$MM_LOGIN_MJS" "$MM_BROWSER_OUT" >"$w"
    chmod +x "$w"
    export BROWSER=$w
}

browser_starts() {
    [[ -f $MM_TMP/browser.starts ]] || { echo 0; return; }
    wc -l <"$MM_TMP/browser.starts" | tr -d ' '
}

browser_runs() {
    [[ -f $MIMIR_TEST_BROWSER_LOG ]] || { echo 0; return; }
    wc -l <"$MIMIR_TEST_BROWSER_LOG" | tr -d ' '
}

browser_run() { sed -n "${1}p" "$MIMIR_TEST_BROWSER_LOG"; }

# The driver logs its run after the callback page has loaded, which can be after
# the agent has already answered: wait for line N.
wait_browser_runs() {
    _mm_runs_ge() { (($(browser_runs) >= $1)); }
    wait_for "browser run $1 to be logged" "${2:-20}" _mm_runs_ge "$1"
}

# Output of the drivers run from the test goes to $MM_TMP/browserN.log.
MM_BROWSER_N=0
_run_driver() { # SCRIPT ARGS...
    local script=$1
    shift
    MM_BROWSER_N=$((MM_BROWSER_N + 1))
    local blog=$MM_TMP/browser$MM_BROWSER_N.log
    node "$script" "$@" >"$blog" 2>&1 || {
        cat "$blog" >&2
        fail "$(basename "$script") failed on $*"
    }
}
run_login_browser() { _run_driver "$MM_LOGIN_MJS" "$1"; }
run_device_browser() { _run_driver "$MM_DEVICE_MJS" "$@"; }

# ---- helpers in the background -------------------------------------------------------

bg_helper() {
    local name=$1
    shift
    # Its exit status is bg_wait's business, not lib.sh's ERR trap's.
    (
        trap - ERR
        set +e
        helper "$@"
    ) >"$MM_TMP/$name.out" 2>"$MM_TMP/$name.err" &
    MM_BG_PID[$name]=$!
    track_pid "$!"
}

bg_wait() {
    local name=$1 secs=${2:-60} pid=${MM_BG_PID[$1]}
    local deadline=$((SECONDS + secs))
    while ! pid_gone "$pid"; do
        ((SECONDS < deadline)) || fail "helper '$name' did not finish within ${secs}s"$'\n'"    stderr: $(cat "$MM_TMP/$name.err")"
        sleep 0.02
    done
    BG_RC=0
    wait "$pid" || BG_RC=$?
    OUT=$(cat "$MM_TMP/$name.out")
    ERR=$(cat "$MM_TMP/$name.err")
}

bg_assert_exit() {
    bg_wait "$1" "${3:-60}"
    [[ $BG_RC == "$2" ]] || fail "exit status of helper '$1'"$'\n'"    expected: $2"$'\n'"    got:      $BG_RC"$'\n'"    stdout: $OUT"$'\n'"    stderr: $ERR"
}

_bg_err_has() { grep -q -- "$2" "$MM_TMP/$1.err"; }

# The helper prints "... visit:\n  URL" once the agent answered `login`.
wait_login_url() {
    local name=$1
    _login_url_ready() { grep -qE '^  https?://[^ ]*/auth\?' "$MM_TMP/$name.err" || pid_gone "${MM_BG_PID[$name]}"; }
    wait_for "helper '$name' to print the authorization URL" 30 _login_url_ready
    LOGIN_URL=$(grep -m1 -oE '^  https?://[^ ]*/auth\?[^ ]*' "$MM_TMP/$name.err" | sed 's/^  //') ||
        fail "helper '$name' printed no authorization URL: $(cat "$MM_TMP/$name.err")"
}

wait_device_code() {
    local name=$1
    _dev_ready() { _bg_err_has "$name" '^(or open ' || pid_gone "${MM_BG_PID[$name]}"; }
    wait_for "helper '$name' to print the device code" 30 _dev_ready
    local e=$MM_TMP/$name.err
    DEV_URI=$(grep -A1 -m1 'visit:$' "$e" | tail -n1 | sed 's/^  //')
    DEV_CODE=$(sed -n 's/^and enter the code:  *//p' "$e" | head -n1)
    DEV_URI_COMPLETE=$(sed -n 's/^(or open \(.*\))$/\1/p' "$e" | head -n1)
    [[ -n $DEV_URI && -n $DEV_CODE && -n $DEV_URI_COMPLETE ]] ||
        fail "helper '$name' printed no complete device challenge: $(cat "$e")"
}

# ---- keyring, URLs, ports, logs ----------------------------------------------------------

keyring_item() {
    secret-tool search --all profile "$1" 2>&1 | grep -v '^dbus-daemon' | LC_ALL=C sort || true
}

keyring_doc() { secret-tool lookup profile "$1" 2>/dev/null || true; }

_mm_urldecode() {
    local s=${1//+/ }
    printf '%b' "${s//%/\\x}"
}

url_param() {
    local q=${1#*\?} kv parts
    [[ $1 == *\?* ]] || return 0
    q=${q%%#*}
    IFS='&' read -r -a parts <<<"$q"
    for kv in "${parts[@]}"; do
        if [[ ${kv%%=*} == "$2" ]]; then
            _mm_urldecode "${kv#*=}"
            return 0
        fi
    done
}

url_port() {
    local hp=${1#*://}
    hp=${hp%%[/?#]*}
    if [[ $hp == *:* ]]; then echo "${hp##*:}"; fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

assert_not_in_logs() {
    local what=$1 f s
    shift
    for f in "$MM_TMP"/agent*.log; do
        [[ -f $f ]] || continue
        for s in "$@"; do
            [[ -n $s ]] || continue
            if grep -qF -- "$s" "$f"; then
                fail "$what appears in $(basename "$f")"
            fi
        done
    done
}
