# tests/mcp/lib.sh - the test MCP server and the SDK's client, for the proxy
# tests (tests/integration/test_proxy_*.sh), the benchmark and the demo.
# Sourced after tests/lib.sh:
#
#   start_mcp ARGS...        node tests/mcp/server.mjs ARGS (--issuer URL, --api-key K,
#                            --json, --cert F --key F); waits for its JSON line; sets
#                            $MCP_URL $MCP_BASE $MCP_PID $MCP_LOG (and $MCP_CURL_CA)
#   apikey_world [PROFILE [ARGS...]]  start_mcp ARGS with a fresh API key ($KEY), a
#                            config whose default profile PROFILE (default local) is an
#                            api-key profile for it, start_agent, set-api-key
#   oauth_world IDP_ARGS...  (after lib_oauth.sh and lib_refresh.sh) signed_in_work
#                            IDP_ARGS (profile "work" signed in through the browser),
#                            then start_mcp accepting only that IdP's tokens
#   mcp_stats [FILTER]       its /__test/stats (through jq -r FILTER when given)
#   mcp_ctl ROUTE [JSON]     POST /__test/ROUTE (reset, config, drop-sessions)
#   mcp_client ARGS...       node tests/mcp/client.mjs ARGS (one scenario, JSON on stdout)
#   PROXY                    the command an MCP client runs: "$MM_BUILD/mimir-helper proxy"
#   repl_start NAME ARGS...  a long-lived client (client.mjs ARGS repl): one MCP session,
#                            commands sent one at a time; stderr in $MM_TMP/NAME.err
#   repl NAME SECS CMD...    send CMD, wait up to SECS for its JSON answer, print it
#   repl_send NAME CMD...    send CMD without waiting; repl_answer NAME SECS waits for it
#   repl_end NAME [SECS]     "quit", then wait for the client (and its proxy) to exit
#   proxy_pid NAME           the pid of the process serving the MCP session behind a
#                            stdio repl client (session_of the helper it launched)
#   session_of PID           the process serving `mimir-helper proxy` PID's session: the
#                            proxy server's session process holding the same standard
#                            input, or PID itself when it became mimir-proxy (fallback)
#   proxy_server_pid         the proxy server of this test's socket directory (fails when
#                            none runs)
#   sessions_of SERVER       the session processes of proxy server SERVER (its children
#                            but its spare, proxy/handoff.h); spare_of SERVER: its spare,
#                            has_spare SERVER: whether it has one
#   vm_kib PID FIELD         a /proc/PID/status figure in KiB (VmRSS, VmHWM)
#   revoke_token TOKEN       destroy TOKEN (only it) at the test IdP ($IDP_ISSUER)

MM_MCP_DIR=$MM_TOP/tests/mcp
[[ -d $MM_TOP/tests/node_modules/@modelcontextprotocol/sdk ]] ||
    skip "the MCP SDK is missing: run tests/deps.sh"
PROXY="$MM_BUILD/mimir-helper proxy"
[[ -x $MM_BUILD/mimir-proxy ]] || fail "$MM_BUILD/mimir-proxy is missing (run make)"
MCP_URL=
MCP_BASE=
MCP_PID=
MCP_LOG=
MCP_N=0

MCP_CURL_CA=()
start_mcp() {
    MCP_N=$((MCP_N + 1))
    local out=$MM_TMP/mcp$MCP_N.json i j
    MCP_CURL_CA=()
    for ((i = 1; i <= $#; i++)); do # its --cert is what the test's curl trusts
        j=$((i + 1))
        [[ ${!i} == --cert ]] && MCP_CURL_CA=(--cacert "${!j}")
    done
    MCP_LOG=$MM_TMP/mcp$MCP_N.log
    node "$MM_MCP_DIR/server.mjs" "$@" >"$out" 2>"$MCP_LOG" &
    MCP_PID=$!
    track_pid "$MCP_PID"
    _mcp_ready() { [[ -s $out ]] && jq -e .url "$out" >/dev/null 2>&1; }
    wait_for "the test MCP server to print its URL" 30 _mcp_ready
    MCP_URL=$(jq -r .url "$out")
    MCP_BASE=${MCP_URL%/mcp}
    log "MCP server $MCP_URL (pid $MCP_PID)"
}

apikey_world() {
    local name=${1:-local}
    shift || true
    KEY=key_$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')
    start_mcp --api-key "$KEY" "$@"
    write_config "{\"default_profile\":\"$name\",\"profiles\":{\"$name\":{\"kind\":\"api-key\",\"server_url\":\"$MCP_URL\"}}}"
    start_agent
    helper set-api-key >/dev/null <<<"$KEY" || fail "cannot store the API key"
}

oauth_world() {
    signed_in_work "$@"
    start_mcp --issuer "$IDP_ISSUER"
}

mcp_stats() {
    local s
    s=$(curl -sS -f --max-time 10 "${MCP_CURL_CA[@]}" "$MCP_BASE/__test/stats") ||
        fail "MCP server stats unavailable"
    if [[ -n ${1:-} ]]; then jq -r "$1" <<<"$s"; else echo "$s"; fi
}

mcp_ctl() {
    curl -sS -f --max-time 10 "${MCP_CURL_CA[@]}" -X POST -H 'Content-Type: application/json' \
        --data-binary "${2:-{\}}" "$MCP_BASE/__test/$1" || fail "MCP server control $1 failed"
}

mcp_client() { node "$MM_MCP_DIR/client.mjs" "$@"; }

repl_start() {
    local name=$1
    shift
    mkfifo "$MM_TMP/$name.in"
    : >"$MM_TMP/$name.out"
    node "$MM_MCP_DIR/client.mjs" "$@" repl <"$MM_TMP/$name.in" >"$MM_TMP/$name.out" \
        2>"$MM_TMP/$name.err" &
    track_pid "$!"
    eval "MM_REPL_PID_$name=$!"
    local fd
    exec {fd}>"$MM_TMP/$name.in"
    eval "MM_REPL_FD_$name=$fd"
}

_repl_lines() { wc -l <"$MM_TMP/$1.out" | tr -d ' '; }
_repl_has() { (($(_repl_lines "$1") >= $2)) || pid_gone "$3"; }

repl_send() {
    local name=$1 fd
    shift
    eval "fd=\$MM_REPL_FD_$name"
    printf '%s\n' "$*" >&"$fd"
}

# repl_answer NAME SECS [N]: the Nth answer (default: the next one not yet read
# by repl_answer in this shell... callers pass N when they interleave).
repl_answer() {
    local name=$1 secs=$2 n=${3:-} pid
    eval "pid=\$MM_REPL_PID_$name"
    [[ -n $n ]] || n=$(($(_repl_lines "$name") + 1))
    wait_for "answer $n of MCP client $name" "$secs" _repl_has "$name" "$n" "$pid"
    (($(_repl_lines "$name") >= n)) ||
        fail "MCP client $name exited: $(tail -n 20 "$MM_TMP/$name.err")"
    sed -n "${n}p" "$MM_TMP/$name.out"
}

repl() {
    local name=$1 secs=$2 n
    shift 2
    n=$(($(_repl_lines "$name") + 1))
    repl_send "$name" "$@"
    repl_answer "$name" "$secs" "$n"
}

repl_end() {
    local name=$1 secs=${2:-10} pid fd
    eval "pid=\$MM_REPL_PID_$name; fd=\$MM_REPL_FD_$name"
    printf 'quit\n' >&"$fd"
    exec {fd}>&-
    wait_for "MCP client $name to exit" "$secs" pid_gone "$pid"
}

proxy_pid() {
    local p
    p=$(repl "$1" 10 pid | jq -r .pid)
    [[ $p =~ ^[0-9]+$ ]] || fail "no proxy pid from client $1"
    session_of "$p"
}

proxy_server_pid() { _mm_lock_pid "$(dirname "$MIMIR_AGENT_SOCK")/proxy.sock" mimir-proxy; }

# (Session processes are not dumpable: reading their fd links takes root, as
# the suite runs in CI.)
session_of() {
    local pid=$1 in p
    if [[ $(readlink "/proc/$pid/exe") == */mimir-proxy ]]; then
        echo "$pid"
        return
    fi
    in=$(readlink "/proc/$pid/fd/0") || fail "cannot read the standard input of $pid"
    for p in /proc/[0-9]*; do
        [[ ${p#/proc/} != "$pid" && $(readlink "$p/exe" 2>/dev/null) == */mimir-proxy &&
            $(readlink "$p/fd/0" 2>/dev/null) == "$in" ]] || continue
        echo "${p#/proc/}"
        return
    done
    fail "no session process serves mimir-helper proxy $pid (standard input $in)"
}

_mm_children_of() { # SERVER session|spare
    local p ppid
    for p in /proc/[0-9]*; do
        ppid=$(awk '{print $4}' "$p/stat" 2>/dev/null) || continue
        [[ $ppid == "$1" ]] || continue
        if [[ $(cat "$p/comm" 2>/dev/null) == proxy-spare ]]; then [[ $2 == spare ]]; else [[ $2 == session ]]; fi &&
            echo "${p#/proc/}"
    done
    return 0
}
sessions_of() { _mm_children_of "$1" session; }
spare_of() { _mm_children_of "$1" spare; }
has_spare() { [[ -n $(spare_of "$1") ]]; }

vm_kib() { awk -v f="$2:" '$1 == f {print $2}' "/proc/$1/status"; }

revoke_token() {
    [[ $(idp_ctl revoke "$(jq -cn --arg t "$1" '{token: $t}')" | jq -r .revoked) != null ]] ||
        fail "the IdP knows no such token to revoke"
}
