# tests/lib.sh - shared setup for the integration tests (sourced, not run).
#
# Gives every test a private world: a temp dir holding HOME, XDG_*, the
# agent's socket and config, a private D-Bus session (tests/run-integration.sh
# starts each test under dbus-run-session; run directly, a test re-executes
# itself under one) with an unlocked gnome-keyring, and a trap that ends
# every process the test started and removes the temp dir.
#
# Helpers:
#   start_agent [ARGS]     mimir-agent --foreground in the background; waits
#                          until it answers "hello"; $MM_AGENT_PID, $MM_AGENT_LOG
#                          ($MM_AGENT_WRAP: a command prefix, e.g. valgrind)
#   stop_agent [SIG]       SIGTERM (or SIG), wait, assert exit status 0
#   wait_agent_exit [SECS] wait for the agent to end; status in $MM_AGENT_STATUS
#   agent_answers [SOCK]   true when an agent answers hello on SOCK
#   helper ARGS...         mimir-helper with MIMIR_NO_AUTOSTART=1
#                          (MM_AUTOSTART=1 helper ... lets it autostart)
#   sock_send LINE...      send each LINE + "\n" on one connection, print replies
#   sock_send_raw < BYTES  send stdin as is, print replies
#   conn_open OUT [SECS]   a connection that stays open: write requests to fd
#                          $MM_CONN_FD, replies land in OUT, socat is
#                          $MM_CONN_PID; `exec {MM_CONN_FD}>&-` ends it
#   assert_eq EXP ACT [MSG], assert_contains HAY NEEDLE [MSG],
#   assert_not_contains HAY NEEDLE [MSG], assert_exit CODE CMD...
#                          (assert_exit leaves stdout/stderr in $OUT / $ERR)
#   wait_for DESC SECS CMD...  poll CMD until it succeeds (no fixed sleeps)
#   write_config JSON      write $MIMIR_CONFIG
#   write_apikey_config [NAME]  a config with one api-key profile (default "local")
#   jqs FILTER JSON        jq -r FILTER on a string
#   self_signed_cert KEY CERT  an EC key and certificate for IP 127.0.0.1
#   log MSG                progress line with the time since the test started
#   track_pid PID          kill PID at exit
#   pid_gone PID           true once PID has exited (zombies count as gone)
#   fail MSG               print MSG and stop the test
#   skip MSG               the test cannot run here: exit 77 (reported as SKIP)

set -euo pipefail
set -E

MM_TOP=${MM_TOP:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}
MM_BUILD=${MM_BUILD:-$MM_TOP/build}
MM_BUILD=$(cd "$MM_BUILD" && pwd)
export MM_TOP MM_BUILD

# Never touch the keyring of the session we were started from.
if [[ -z ${MM_PRIVATE_DBUS:-} ]]; then
    MM_PRIVATE_DBUS=1 exec dbus-run-session -- bash "$0" "$@"
fi

MM_TEST=$(basename "$0" .sh)
MM_TMP=$(mktemp -d "${TMPDIR:-/tmp}/mm-${MM_TEST#test_}.XXXXXX")
export HOME=$MM_TMP/home
export XDG_RUNTIME_DIR=$MM_TMP/run
export XDG_CONFIG_HOME=$HOME/.config
export XDG_DATA_HOME=$HOME/.local/share
export XDG_CACHE_HOME=$HOME/.cache
export MIMIR_AGENT_SOCK=$XDG_RUNTIME_DIR/mimir/agent.sock
export MIMIR_CONFIG=$XDG_CONFIG_HOME/mimir/config.json
unset MIMIR_URL MIMIR_OAUTH_ISSUER MIMIR_OAUTH_CLIENT_ID MIMIR_OAUTH_SCOPE \
      MIMIR_OAUTH_AUDIENCE MIMIR_AGENT_BIN MIMIR_NO_AUTOSTART GNOME_KEYRING_CONTROL \
      LISTEN_PID LISTEN_FDS
mkdir -p "$HOME" "$XDG_CONFIG_HOME" "$XDG_DATA_HOME" "$XDG_CACHE_HOME"
mkdir -m 0700 "$XDG_RUNTIME_DIR"
cd "$MM_TMP"

MM_PIDS=()
MM_AGENT_PID=
MM_AGENT_LOG=
MM_AGENT_STATUS=
MM_AGENT_N=0
MM_KEYRING_PID=
OUT=
ERR=

# ---- reporting and cleanup ------------------------------------------------

# Microseconds since the epoch, without forking.
_mm_us() { local t=${EPOCHREALTIME/[.,]/}; echo "$((10#$t))"; }
MM_T0=$(_mm_us)

log() {
    local ms=$((($(_mm_us) - MM_T0) / 1000))
    printf '[%s %d.%03ds] %s\n' "$MM_TEST" $((ms / 1000)) $((ms % 1000)) "$*" >&2
}

fail() {
    printf '\nFAIL (%s): %s\n' "$MM_TEST" "$*" >&2
    local i
    for ((i = 1; i < ${#FUNCNAME[@]}; i++)); do
        printf '    at %s:%s (%s)\n' "$(basename "${BASH_SOURCE[i]}")" "${BASH_LINENO[i - 1]}" \
            "${FUNCNAME[i]}" >&2
    done
    exit 1
}

# skip REASON: this test cannot run here (exit 77, reported as SKIP).
skip() {
    printf 'SKIP (%s): %s\n' "$MM_TEST" "$*" >&2
    exit 77
}

_mm_on_err() {
    local rc=$? cmd=$BASH_COMMAND
    printf '\nFAIL (%s): command failed with status %s: %s\n    at %s:%s\n' "$MM_TEST" \
        "$rc" "$cmd" "$(basename "${BASH_SOURCE[1]:-$0}")" "${BASH_LINENO[0]}" >&2
}
trap _mm_on_err ERR

track_pid() { MM_PIDS+=("$1"); }

_mm_alive() { # running (not a zombie)
    local st
    st=$(awk '{print $3}' "/proc/$1/stat" 2>/dev/null) || return 1
    [[ -n $st && $st != Z && $st != X ]]
}

pid_gone() { ! _mm_alive "$1"; }

# A daemonized agent (autostart) is no child of ours: the pid is in the
# lock file, and it is alive only while someone holds the lock.  The same
# for the proxy server: _mm_lock_pid "$(dirname "$MIMIR_AGENT_SOCK")/proxy.sock" mimir-proxy
_mm_lock_pid() {
    local lock=$1.lock pid
    [[ -f $lock ]] || return 1
    ! flock -n "$lock" true 2>/dev/null || return 1 # nobody holds it
    pid=$(head -n1 "$lock" 2>/dev/null) || return 1
    [[ $pid =~ ^[0-9]+$ ]] || return 1
    [[ $(readlink "/proc/$pid/exe" 2>/dev/null) == */${2:-mimir-agent}* ]] || return 1
    echo "$pid"
}

_mm_cleanup() {
    local rc=$? pid deadline
    trap - ERR
    set +e
    local pids=("${MM_PIDS[@]}")
    ((rc == 0 || rc == 77)) || _mm_threads "${MM_AGENT_PID:-0}"
    pid=$(_mm_lock_pid "${MIMIR_AGENT_SOCK:-/nonexistent}") && pids+=("$pid")
    pid=$(_mm_lock_pid "$(dirname "${MIMIR_AGENT_SOCK:-/nonexistent/x}")/proxy.sock" mimir-proxy) &&
        pids+=("$pid")
    for pid in "${pids[@]}"; do
        kill -TERM "$pid" 2>/dev/null
    done
    deadline=$((SECONDS + 5))
    for pid in "${pids[@]}"; do
        while _mm_alive "$pid" && ((SECONDS < deadline)); do
            sleep 0.05
        done
        _mm_alive "$pid" && kill -KILL "$pid" 2>/dev/null
    done
    for pid in "${pids[@]}"; do
        wait "$pid" 2>/dev/null # reap our children; others are not ours to wait for
    done
    if ((rc != 0 && rc != 77)); then
        local f
        for f in "$MM_TMP"/agent*.log ${MM_BROWSER_OUT:+"$MM_BROWSER_OUT"}; do
            [[ -f $f ]] || continue
            printf '\n---- %s (last 40 lines) ----\n' "$(basename "$f")" >&2
            tail -n 40 "$f" >&2
        done
    fi
    if [[ -n ${MM_KEEP_TMP:-} ]]; then
        echo "kept $MM_TMP" >&2
    else
        chmod -R u+rwX "$MM_TMP" 2>/dev/null
        rm -rf "$MM_TMP"
    fi
    [[ -z ${MM_KEYRING_DATA:-} ]] || rm -rf "$MM_KEYRING_DATA"
    exit "$rc"
}
trap _mm_cleanup EXIT
trap 'exit 143' TERM
trap 'exit 130' INT
trap 'exit 129' HUP

# ---- assertions -----------------------------------------------------------

assert_eq() {
    [[ $1 == "$2" ]] || fail "${3:-values differ}"$'\n'"    expected: $(printf %q "$1")"$'\n'"    got:      $(printf %q "$2")"
}

assert_contains() {
    [[ $1 == *"$2"* ]] || fail "${3:-missing text}"$'\n'"    expected to contain: $2"$'\n'"    got: $1"
}

assert_not_contains() {
    [[ $1 != *"$2"* ]] || fail "${3:-unexpected text}"$'\n'"    expected NOT to contain: $2"$'\n'"    got: $1"
}

# assert_exit CODE CMD...: run CMD, compare its exit status; $OUT/$ERR keep
# its stdout/stderr for further checks.
assert_exit() {
    local want=$1 rc=0
    shift
    local o=$MM_TMP/.out e=$MM_TMP/.err
    "$@" >"$o" 2>"$e" || rc=$?
    OUT=$(cat "$o")
    ERR=$(cat "$e")
    if [[ $rc != "$want" ]]; then
        fail "exit status of '$*'"$'\n'"    expected: $want"$'\n'"    got:      $rc"$'\n'"    stdout: $OUT"$'\n'"    stderr: $ERR"
    fi
}

# wait_for DESC SECS CMD...: poll every 20 ms until CMD succeeds.
wait_for() {
    local desc=$1 secs=$2
    shift 2
    local deadline=$(($(_mm_us) + secs * 1000000))
    until "$@" >/dev/null 2>&1; do
        if (($(_mm_us) > deadline)); then
            fail "timed out after ${secs}s waiting for: $desc"
        fi
        sleep 0.02
    done
}

# ---- the keyring ----------------------------------------------------------

_mm_dbus() {
    dbus-send --session --print-reply=literal --dest=org.freedesktop.DBus / \
        "org.freedesktop.DBus.$1" "string:$2"
}

_mm_secrets_owned() { [[ $(_mm_dbus NameHasOwner org.freedesktop.secrets) == *true* ]]; }

start_keyring() {
    local out
    # The keyring's files in memory where there is a tmpfs: gnome-keyring
    # fsyncs its file on every change, which a busy disk (CI installing VS
    # Code next to the tests) can stretch past the tests' deadlines.  The
    # same directory across restarts of the daemon, so that items persist.
    if [[ -z ${MM_KEYRING_DATA:-} && -d /dev/shm && -w /dev/shm ]]; then
        MM_KEYRING_DATA=$(mktemp -d /dev/shm/mm-keyring.XXXXXX)
    fi
    out=$(echo -n test | XDG_DATA_HOME=${MM_KEYRING_DATA:-$XDG_DATA_HOME} \
        gnome-keyring-daemon --unlock --components=secrets --daemonize) ||
        fail "gnome-keyring-daemon did not start"
    # It prints VAR=value lines (GNOME_KEYRING_CONTROL); export them.
    local line
    while IFS= read -r line; do
        [[ $line == *=* ]] && export "${line?}"
    done <<<"$out"
    wait_for "gnome-keyring to own org.freedesktop.secrets" 10 _mm_secrets_owned
    MM_KEYRING_PID=$(_mm_dbus GetConnectionUnixProcessID org.freedesktop.secrets | awk '{print $NF}')
    [[ $MM_KEYRING_PID =~ ^[0-9]+$ ]] || fail "cannot find the keyring daemon's pid"
    track_pid "$MM_KEYRING_PID"
    # The keyring must really work, or every test below proves nothing.
    echo -n probe-secret | secret-tool store --label='mimir test probe' mm-probe "$MM_TEST" ||
        fail "secret-tool store does not work"
    [[ $(secret-tool lookup mm-probe "$MM_TEST") == probe-secret ]] ||
        fail "secret-tool lookup does not return what was stored"
    secret-tool clear mm-probe "$MM_TEST"
}

# ---- the agent ------------------------------------------------------------

# hello over the socket; succeeds once the agent answers.
agent_answers() {
    local r
    r=$(printf '{"v":1,"id":"ping","op":"hello"}\n' |
        timeout 5 socat -t 2 - "UNIX-CONNECT:${1:-$MIMIR_AGENT_SOCK}" 2>/dev/null) || return 1
    [[ $r == *'"ok":true'* ]]
}

start_agent() {
    MM_AGENT_N=$((MM_AGENT_N + 1))
    MM_AGENT_LOG=$MM_TMP/agent$MM_AGENT_N.log
    local wrap=()
    [[ -n ${MM_AGENT_WRAP:-} ]] && read -r -a wrap <<<"$MM_AGENT_WRAP"
    "${wrap[@]}" "$MM_BUILD/mimir-agent" --foreground "$@" >"$MM_AGENT_LOG" 2>&1 &
    MM_AGENT_PID=$!
    track_pid "$MM_AGENT_PID"
    local sock=$MIMIR_AGENT_SOCK i
    for ((i = 1; i <= $#; i++)); do # --socket PATH / -s PATH
        if [[ ${!i} == --socket || ${!i} == -s ]]; then
            local j=$((i + 1))
            sock=${!j}
        fi
    done
    local deadline=$((SECONDS + ${MM_START_TIMEOUT:-15}))
    until agent_answers "$sock"; do
        if ! _mm_alive "$MM_AGENT_PID"; then
            cat "$MM_AGENT_LOG" >&2
            fail "mimir-agent exited during startup"
        fi
        ((SECONDS < deadline)) || fail "mimir-agent did not answer hello within ${MM_START_TIMEOUT:-15}s"
        sleep 0.02
    done
}

# wait_agent_exit [SECS]: wait for $MM_AGENT_PID to end; status in $MM_AGENT_STATUS.
# _mm_threads PID: where each thread of a stuck process is (gdb), into the
# test's output: a hang seen once on a busy machine is then diagnosed.
_mm_threads() {
    command -v gdb >/dev/null && _mm_alive "$1" || return 0
    echo "---- threads of pid $1 ($(readlink "/proc/$1/exe" 2>/dev/null)) ----" >&2
    timeout 20 gdb -q -batch -nx -p "$1" -ex 'thread apply all bt 12' 2>/dev/null |
        grep -E '^Thread|^#' | head -n 150 >&2
    return 0
}

wait_agent_exit() {
    local secs=${1:-10}
    local deadline=$(($(_mm_us) + secs * 1000000))
    while _mm_alive "$MM_AGENT_PID"; do
        if (($(_mm_us) > deadline)); then
            _mm_threads "$MM_AGENT_PID"
            kill -KILL "$MM_AGENT_PID" 2>/dev/null || true
            fail "mimir-agent (pid $MM_AGENT_PID) did not exit within ${secs}s"
        fi
        sleep 0.02
    done
    MM_AGENT_STATUS=0
    wait "$MM_AGENT_PID" || MM_AGENT_STATUS=$?
}

stop_agent() {
    kill "-${1:-TERM}" "$MM_AGENT_PID" || fail "cannot signal mimir-agent $MM_AGENT_PID"
    wait_agent_exit "${MM_STOP_TIMEOUT:-10}"
    assert_eq 0 "$MM_AGENT_STATUS" "mimir-agent exit status after SIG${1:-TERM}"
}

helper() {
    if [[ ${MM_AUTOSTART:-} == 1 ]]; then
        env -u MIMIR_NO_AUTOSTART "$MM_BUILD/mimir-helper" "$@"
    else
        MIMIR_NO_AUTOSTART=1 "$MM_BUILD/mimir-helper" "$@"
    fi
}

# sock_send LINE...: one connection, each LINE sent with a newline; prints
# what the agent answers until it closes the connection (it does once every
# request has its reply and we have shut down our side) or 5 s pass.
sock_send() {
    printf '%s\n' "$@" | sock_send_raw
}

sock_send_raw() {
    timeout 10 socat -t "${MM_SOCK_WAIT:-5}" - "UNIX-CONNECT:$MIMIR_AGENT_SOCK" 2>/dev/null || true
}

MM_CONN_N=0
conn_open() {
    local out=$1 secs=${2:-30} fifo
    MM_CONN_N=$((MM_CONN_N + 1))
    fifo=$MM_TMP/conn$MM_CONN_N.fifo
    mkfifo "$fifo"
    socat -t "$secs" - "UNIX-CONNECT:$MIMIR_AGENT_SOCK" <"$fifo" >"$out" 2>"$out.err" &
    MM_CONN_PID=$!
    track_pid "$MM_CONN_PID"
    # Hold the writing end open in this shell: socat must not see EOF (it
    # would shut down its side) until the test closes it.
    exec {MM_CONN_FD}>"$fifo"
}

write_config() {
    mkdir -p "$(dirname "$MIMIR_CONFIG")"
    printf '%s\n' "$1" >"$MIMIR_CONFIG"
}

# A config with one api-key profile NAME (default "local").
write_apikey_config() {
    local name=${1:-local}
    write_config "{\"profiles\":{\"$name\":{\"kind\":\"api-key\",\"server_url\":\"http://127.0.0.1:8080/mcp\"}}}"
}

# jq on a string: jqs FILTER JSON
jqs() { jq -r "$1" <<<"$2"; }

# self_signed_cert KEY CERT: an EC certificate for IP 127.0.0.1, for https
# test servers (trusted only by whoever is given CERT).
self_signed_cert() {
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 \
        -subj /CN=127.0.0.1 -addext subjectAltName=IP:127.0.0.1 \
        -keyout "$1" -out "$2" 2>"$MM_TMP/openssl.log" ||
        fail "openssl could not make a certificate: $(cat "$MM_TMP/openssl.log")"
}

start_keyring
