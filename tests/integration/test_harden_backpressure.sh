#!/usr/bin/env bash
# Output memory is bounded and pipelining is never punished (issue: 200
# clients that never read pushed the agent from 15 MB to 689 MB RSS; one
# client pipelining 100,000 requests was disconnected after 14,277 replies):
#  - 200 connections each send 5,000 token requests and never read: the
#    agent's peak RSS stays under 80 MB (it stops reading a connection whose
#    replies back up, and everybody when all together hold too much), and
#    it goes on serving others meanwhile; the non-readers are dropped later;
#  - one connection pipelines 100,000 requests and reads: every one is
#    answered.
. "$(dirname "$0")/../lib.sh"

KEY=backpressure_key_0123456789
write_apikey_config local
start_agent
assert_exit 0 helper set-api-key <<<"$KEY"
rss_kb() { awk "/^$1/ {print \$2}" "/proc/$MM_AGENT_PID/status"; }
log "agent RSS at start: $(rss_kb VmRSS) kB"

log "200 non-reading clients, 5,000 requests each"
node "$MM_TOP/tests/integration/sockload.mjs" nonreaders "$MIMIR_AGENT_SOCK" 200 5000 6 \
    >"$MM_TMP/nr.json" &
loader=$!
track_pid "$loader"
sleep 3 # the requests arrive and the replies back up (nothing to wait for: they never read)
assert_exit 0 timeout 5 "$MM_BUILD/mimir-helper" token
assert_eq "$KEY" "$OUT" "another client is served while 200 do not read"
wait "$loader" || fail "the non-readers' driver failed"
peak=$(rss_kb VmHWM)
log "non-readers: $(cat "$MM_TMP/nr.json"); agent peak RSS ${peak} kB"
if ! grep -qa __asan_init "$MM_BUILD/mimir-agent"; then # ASan keeps freed memory
    ((peak < 81920)) || fail "the agent's RSS peaked at ${peak} kB with 200 non-reading clients"
fi

log "one client pipelines 100,000 requests and reads them all"
res=$(node "$MM_TOP/tests/integration/sockload.mjs" pipeline "$MIMIR_AGENT_SOCK" 100000 120)
log "pipeline: $res"
assert_eq 100000 "$(jqs .ok "$res")" "answered requests of 100,000 pipelined"
_mm_alive "$MM_AGENT_PID" || fail "the agent died"
stop_agent
log "ok"
