# tests/lib_refresh.sh - helpers for the silent-refresh tests
# (tests/integration/test_refresh_*.sh).  Sourced AFTER lib.sh and
# lib_oauth.sh:
#
#     . "$(dirname "$0")/../lib.sh"
#     . "$MM_TOP/tests/lib_oauth.sh"
#     . "$MM_TOP/tests/lib_refresh.sh"
#
# Everything is real: the IdP (oidc-provider, tests/idp/idp.mjs), chromium for
# the one browser login, gnome-keyring, mimir-agent.
#
#   login_profile NAME          `helper login --profile NAME` through $BROWSER
#                               (login.mjs; call use_login_browser before
#                               start_agent); asserts exit 0
#   stored_rt NAME              the refresh token in the keyring document of NAME
#                               (secret-tool lookup), empty when none
#   now_s / now_ms              wall clock
#   timed CMD...                run CMD: stdout/stderr in $OUT/$ERR, exit status
#                               in $RC, wall time in $ELAPSED_MS
#   pstate NAME                 the profile's state from status --json
#   wait_pstate NAME STATE SECS poll status --json until state == STATE
#                               ("!loading": until it is anything but loading)
#   subscribe_start FILE        a raw subscriber connection (socat) appending
#                               every line it receives to FILE; waits for the ok
#   idp_pause / idp_resume      SIGSTOP / SIGCONT the IdP ($IDP_PID): a refresh
#                               in flight then stays in flight, deterministically
#   idp_clear_fault ENDPOINT    replace ENDPOINT's fault by one with count 0
#                               (unlike /__test/reset, keeps the stats)
#   burst_client N LINE [SECS]  node: open N connections, wait until all are
#                               connected, write LINE on every one at once, read
#                               one reply each; prints a JSON summary
#                               {"replies","ok","errors":[...],"tokens":[distinct],
#                               "max_ms"}
#   agent_fds                   number of open fds of $MM_AGENT_PID (accepted
#                               connections pile up there)
#   token_poller PROFILE ISSUER SECS FILE, poller_check FILE WHAT: see below
#   introspect_ok TOKEN WHAT    fail unless the IdP says TOKEN is active now
#   introspect_active TOKEN     "true" or "false"
#   start_notifyd FILE          the test notification server (tests/integration/
#                               notifyd.py) on the session bus, each Notify logged
#                               to FILE as a JSON line; skips without python3-gi

now_s() { echo "${EPOCHREALTIME%[.,]*}"; }
now_ms() { local t=${EPOCHREALTIME/[.,]/}; echo "$((10#$t / 1000))"; }

RC=
ELAPSED_MS=
timed() {
    local t0 t1 o=$MM_TMP/.el.out e=$MM_TMP/.el.err
    t0=$(now_ms)
    RC=0
    "$@" >"$o" 2>"$e" || RC=$?
    t1=$(now_ms)
    OUT=$(cat "$o")
    ERR=$(cat "$e")
    ELAPSED_MS=$((t1 - t0))
}

login_profile() {
    local name=$1 rc=0
    helper login --profile "$name" --timeout 60 >"$MM_TMP/login-$name.out" 2>"$MM_TMP/login-$name.err" ||
        rc=$?
    ((rc == 0)) || fail "login of profile $name failed (exit $rc): $(cat "$MM_TMP/login-$name.err")"
    grep -q '^Signed in as ' "$MM_TMP/login-$name.out" ||
        fail "login of profile $name printed: $(cat "$MM_TMP/login-$name.out")"
}

# The usual start: an IdP (start_idp ARGS...), profile "work" pointing at it,
# an agent started with "${AGENT_ARGS[@]}" (if set), signed in through the browser.
signed_in_work() {
    start_idp "$@"
    write_oauth_config work
    use_login_browser
    start_agent ${AGENT_ARGS[@]+"${AGENT_ARGS[@]}"}
    login_profile work
}

stored_rt() {
    local doc
    doc=$(keyring_doc "$1")
    [[ -n $doc ]] || return 0
    # Fast path without jq (the machine may be busy): the agent writes the
    # document with cJSON, "secret":"..." with a base64url/opaque token.
    if [[ $doc =~ \"secret\":\"([A-Za-z0-9._~+/=-]+)\" ]]; then
        echo "${BASH_REMATCH[1]}"
    else
        jq -r '.secret // empty' <<<"$doc"
    fi
}

# The IdP's introspection answer for TOKEN (like lib_oauth's introspect,
# without forking jq for the usual token alphabet).
_introspect() {
    local body
    if [[ $1 =~ ^[A-Za-z0-9._~+/=-]+$ ]]; then # no JSON escaping needed
        body="{\"token\":\"$1\"}"
    else
        body=$(jq -cn --arg t "$1" '{token: $t}')
    fi
    curl -sS -f --max-time 15 "${IDP_CURL_CA[@]}" -X POST -H 'Content-Type: application/json' \
        --data-binary "$body" "$IDP_ISSUER/__test/introspect"
}

introspect_ok() {
    local info
    info=$(_introspect "$1") || fail "introspection of ${2:-token} failed"
    [[ $info == *'"active":true'* ]] || fail "${2:-token} is not active at the IdP: $info"
}

introspect_active() {
    local info
    info=$(_introspect "$1") || fail "introspection failed"
    if [[ $info == *'"active":true'* ]]; then echo true; else echo false; fi
}

# The state of profile NAME, from status --json (no jq: fast when busy).
pstate() {
    local st
    st=$(helper status --profile "$1" --json 2>/dev/null) || { echo "?"; return; }
    if [[ $st =~ \"state\":[[:space:]]*\"([a-z_]+)\" ]]; then
        echo "${BASH_REMATCH[1]}"
    else
        echo "?"
    fi
}

# wait_pstate NAME STATE SECS (STATE may be "!loading": anything but loading)
wait_pstate() {
    local name=$1 want=$2 secs=$3 deadline cur
    deadline=$(($(now_ms) + secs * 1000))
    while :; do
        cur=$(pstate "$name")
        if [[ $want == !* ]]; then
            [[ $cur != "${want#!}" && $cur != "?" ]] && return 0
        else
            [[ $cur == "$want" ]] && return 0
        fi
        (($(now_ms) < deadline)) ||
            fail "timed out after ${secs}s waiting for profile $name to be in state $want; status: $(helper status --profile "$name" --json 2>&1 | jq -c '{state, last_error, access_expires_at, next_refresh_at}' 2>/dev/null)"
        sleep 0.02
    done
}

subscribe_start() {
    local file=$1
    conn_open "$file" 600 # open for the test's lifetime
    printf '{"v":1,"id":"sub","op":"subscribe"}\n' >&"$MM_CONN_FD"
    _mm_sub_ok() { grep -q '"id":"sub","ok":true' "$1"; }
    wait_for "the subscription to be acknowledged" 5 _mm_sub_ok "$file"
}

idp_pause() { kill -STOP "$IDP_PID" || fail "cannot stop the IdP"; }
idp_resume() { kill -CONT "$IDP_PID" || fail "cannot continue the IdP"; }

idp_clear_fault() {
    idp_ctl fault "{\"endpoint\":\"$1\",\"count\":0}" >/dev/null
}

# The agent's open file descriptors (to see accepted connections pile up).
agent_fds() { find "/proc/$MM_AGENT_PID/fd" -mindepth 1 -maxdepth 1 2>/dev/null | wc -l; }

burst_client() {
    local n=$1 line=$2 secs=${3:-60}
    # shellcheck disable=SC2016 # JavaScript
    node -e '
const net = require("net");
const [sock, nStr, line, secsStr] = process.argv.slice(1);
const n = Number(nStr), deadline = Date.now() + Number(secsStr) * 1000;
const socks = [], replies = new Array(n).fill(null);
let connected = 0, done = 0, t0 = 0;
const errors = [];
function finish() {
  const toks = new Set(); let ok = 0, maxMs = 0;
  for (const r of replies) {
    if (!r) continue;
    maxMs = Math.max(maxMs, r.ms);
    if (r.msg && r.msg.ok === true && typeof r.msg.token === "string" && r.msg.token) {
      ok++; toks.add(r.msg.token);
    } else errors.push(r.msg ? JSON.stringify(r.msg).slice(0, 300) : "no reply");
  }
  const missing = replies.filter((r) => !r).length;
  if (missing) errors.push(`${missing} connections got no reply`);
  process.stdout.write(JSON.stringify({ replies: n - missing, ok, errors: errors.slice(0, 10),
    error_count: errors.length, tokens: [...toks], max_ms: maxMs }) + "\n");
  for (const s of socks) s.destroy();
  process.exit(0);
}
setTimeout(finish, Math.max(0, deadline - Date.now())).unref();
for (let i = 0; i < n; i++) {
  const s = net.createConnection(sock);
  socks.push(s);
  let buf = "";
  s.setEncoding("utf8");
  s.on("connect", () => {
    if (++connected === n) { // everyone is connected: fire all at once
      t0 = Date.now();
      for (const c of socks) c.write(line + "\n");
    }
  });
  s.on("data", (d) => {
    buf += d;
    const nl = buf.indexOf("\n");
    if (nl < 0 || replies[i]) return;
    let msg; try { msg = JSON.parse(buf.slice(0, nl)); } catch { msg = { unparsable: buf.slice(0, 200) }; }
    replies[i] = { msg, ms: Date.now() - t0 };
    s.end();
    if (++done === n) finish();
  });
  s.on("error", (e) => { errors.push(`connection ${i}: ${e.message}`); if (!replies[i]) { replies[i] = null; } });
}
' "$MIMIR_AGENT_SOCK" "$n" "$line" "$secs"
}

# token_poller PROFILE ISSUER SECS FILE: every 100 ms for SECS seconds,
# `mimir-helper token --profile PROFILE`; each token not seen before is
# introspected at ISSUER's IdP right away.  One line per event in FILE:
#   req MS ok HASH | req MS err RC MESSAGE
#   new MS HASH ACTIVE KIND EXP            (introspection of a new token)
# Tokens appear only as short hashes.  Runs in the background ($MM_POLLER_PID);
# creating FILE.stop ends it early.
token_poller() {
    local profile=$1 iss=$2 secs=$3 file=$4
    (
        set +e +E
        trap - ERR
        IDP_ISSUER=$iss
        local end last='' tok rc info h t
        end=$(($(now_ms) + secs * 1000))
        : >"$file"
        while (($(now_ms) < end)) && [[ ! -e $file.stop ]]; do
            t=$(now_ms)
            rc=0
            tok=$(helper token --profile "$profile" 2>"$file.err") || rc=$?
            if ((rc != 0)); then
                echo "req $t err $rc $(tr '\n' ' ' <"$file.err")" >>"$file"
            else
                h=$(printf %s "$tok" | sha256sum | cut -c1-12)
                echo "req $t ok $h" >>"$file"
                if [[ $tok != "$last" ]]; then
                    info=$(_introspect "$tok" 2>&1)
                    if [[ $info =~ \"active\":(true|false),\"kind\":\"?([A-Za-z]+)\"?,.*\"exp\":([0-9a-z]+) ]]; then
                        echo "new $(now_ms) $h ${BASH_REMATCH[1]} ${BASH_REMATCH[2]} ${BASH_REMATCH[3]}" >>"$file"
                    else
                        echo "new $(now_ms) $h introspection-failed: $info" >>"$file"
                    fi
                    last=$tok
                fi
            fi
            sleep 0.1
        done
        echo "end $(now_ms)" >>"$file"
    ) &
    track_pid "$!"
    MM_POLLER_PID=$!
}

# poller_check FILE WHAT: no failed request, every new token active when
# received; prints "REQUESTS DISTINCT_TOKENS".
poller_check() {
    local file=$1 what=$2 n errs bad distinct
    grep -q '^end ' "$file" || fail "$what: the token poller did not finish"
    n=$(grep -c '^req ' "$file" || true)
    errs=$(grep '^req [0-9]* err ' "$file" || true)
    [[ -z $errs ]] || fail "$what: $(wc -l <<<"$errs") of $n token requests failed, first: $(head -n1 <<<"$errs")"
    bad=$(grep '^new ' "$file" | awk '$4 != "true"' || true)
    [[ -z $bad ]] || fail "$what: tokens not active at the IdP when received:"$'\n'"$bad"
    distinct=$(grep -c '^new ' "$file" || true)
    echo "$n $distinct"
}

start_notifyd() {
    /usr/bin/python3 -c 'import gi' 2>/dev/null || skip "python3-gi is missing (run tests/deps.sh)"
    /usr/bin/python3 "$MM_TOP/tests/integration/notifyd.py" "$1" >"$MM_TMP/notifyd.out" 2>&1 &
    track_pid $!
    wait_for "the notification server" 10 grep -q ready "$MM_TMP/notifyd.out"
}
