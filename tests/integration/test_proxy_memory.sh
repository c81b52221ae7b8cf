#!/usr/bin/env bash
# The proxy's memory does not grow with message size (api-key profile; agent,
# keyring, SDK server and client real).  The peak resident size (VmHWM) of
# the process serving the session (the proxy server's session process) grows
# by less than GROWTH_KIB over what it was before, and stays under LIMIT_KIB,
# while:
#  1. a 6 MiB tool result comes back as an event stream, and as a JSON body,
#     to the SDK's client;
#  2. a 64 MiB result comes back to a client that does not read for a
#     while: the proxy stops reading the server (it does not buffer the
#     answer), then delivers all of it, intact, once the client reads;
#  3. the client sends a 64 MiB line (over the 4 MiB limit): refused with an
#     error that names its id, holding no more of it than the limit.
. "$(dirname "$0")/../lib.sh"
. "$MM_TOP/tests/mcp/lib.sh"

LIMIT_KIB=$((16 * 1024))
GROWTH_KIB=$((3 * 1024))
BIG=$((64 * 1024 * 1024))
# Twice the growth allowed, and not more: the SDK's stdio client gathers a
# line by concatenating what it reads (quadratic: 11 MiB took 15 s here).
SDK_BIG=$((6 * 1024 * 1024))
apikey_world

# A sanitizer's shadow memory and quarantine dwarf what is measured here:
# such a build runs the same steps without comparing sizes.
sanitized=0
grep -qa -e __asan_init -e __ubsan_handle "$MM_BUILD/mimir-proxy" && sanitized=1
hwm_ok() { # PID WHAT BASE_KIB [GROWTH_KIB]
    local hwm growth=${4:-$GROWTH_KIB}
    hwm=$(vm_kib "$1" VmHWM)
    log "$2: proxy peak resident size $((hwm / 1024)) MiB (+$(((hwm - $3) / 1024)) MiB)"
    ((sanitized || (hwm < LIMIT_KIB && hwm - $3 < growth))) ||
        fail "$2: the proxy's peak resident size is $hwm KiB, up from $3 (limits: $LIMIT_KIB, +$growth)"
}

log "1. a 6 MiB result over SSE, then as a JSON body"
for mode in sse json; do
    mcp_ctl config "{\"json\": $([[ $mode == json ]] && echo true || echo false)}" >/dev/null
    repl_start "$mode" --stdio "$PROXY"
    pid=$(proxy_pid "$mode")
    repl "$mode" 30 call echo '{"text":"warm"}' >/dev/null
    base=$(vm_kib "$pid" VmHWM)
    assert_eq "{\"length\":$SDK_BIG}" "$(repl "$mode" 120 big $SDK_BIG)" "the result's length ($mode)"
    hwm_ok "$pid" "6 MiB answered with $mode" "$base"
    repl_end "$mode"
done
mcp_ctl config '{"json": false}' >/dev/null

log "2. a client that does not read for a while"
mkfifo "$MM_TMP/in" "$MM_TMP/out"
"$MM_BUILD/mimir-helper" proxy <"$MM_TMP/in" >"$MM_TMP/out" 2>"$MM_TMP/raw.err" &
pid=$!
track_pid "$pid"
exec {in}>"$MM_TMP/in"
exec {out}<"$MM_TMP/out"
printf '%s\n' '{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"slow-reader","version":"1"}}}' >&"$in"
IFS= read -r -t 20 -u "$out" line || fail "no initialize result"
assert_eq 1 "$(jq -r .id <<<"$line")" "the initialize result"
helper_pid=$pid
pid=$(session_of "$helper_pid")
base=$(vm_kib "$pid" VmHWM)
printf '%s\n' '{"jsonrpc":"2.0","method":"notifications/initialized"}' \
    "{\"jsonrpc\":\"2.0\",\"id\":2,\"method\":\"tools/call\",\"params\":{\"name\":\"big\",\"arguments\":{\"bytes\":$BIG}}}" >&"$in"
# Not reading: wait until the proxy stops taking in more (its size holds
# still for a second), then look at it.
settled=0 last=0 deadline=$((SECONDS + 30))
while ((settled < 10 && SECONDS < deadline)); do
    sleep 0.1
    rss=$(vm_kib "$pid" VmRSS)
    if ((rss - last < 128 && last - rss < 128)); then settled=$((settled + 1)); else settled=0; fi
    last=$rss
done
((settled == 10)) || fail "the proxy's size kept changing for 30 s while nobody read its output"
hwm_ok "$pid" "while the client does not read" "$base"
(($(mcp_stats '.tool_calls.big') == 3)) || fail "the big call did not reach the server"
# (head reads in blocks; bash's read would take a byte per system call)
timeout 60 head -n 1 <&"$out" >"$MM_TMP/big.line" || fail "the big result never came"
assert_eq "2 $BIG" "$(jq -r '"\(.id) \(.result.content[0].text | length)"' "$MM_TMP/big.line")" \
    "the big result, read late"
hwm_ok "$pid" "after reading it" "$base"
# The process the MCP client launched is the static helper, which only waits.
hk=$(vm_kib "$helper_pid" VmHWM)
log "mimir-helper proxy, waiting for its session: peak resident size $hk KiB"
((sanitized || hk < 4096)) || fail "mimir-helper proxy grew to $hk KiB while relaying nothing"

log "3. a 64 MiB line from the client"
{
    printf '{"jsonrpc":"2.0","id":"huge-1","method":"tools/call","params":{"name":"echo","arguments":{"text":"'
    head -c "$BIG" /dev/zero | tr '\0' 'b'
    printf '"}}}\n'
} >&"$in"
IFS= read -r -t 60 -u "$out" line || fail "no answer to the 64 MiB line"
assert_eq '"huge-1" too_large' "$(jq -r '"\(.id | tojson) \(.error.data.reason)"' <<<"$line")" \
    "the answer to the 64 MiB line"
# The line is read up to the 4 MiB a message may have, then skipped.
hwm_ok "$pid" "after a 64 MiB line" "$base" $((5 * 1024))
exec {in}>&-
wait_for "the proxy to exit" 10 pid_gone "$pid"
wait_for "mimir-helper proxy to exit" 10 pid_gone "$helper_pid"
exec {out}<&-
log "ok"
