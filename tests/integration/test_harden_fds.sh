#!/usr/bin/env bash
# Out of file descriptors, the agent neither spins nor floods its log
# (issue: with `prlimit --nofile=256` and 400 idle clients it burned a core
# and wrote 157 MB of "Too many open files" in 3 s).  With the limit at 256:
#  - 400 idle clients: the ones beyond the cap are told too_many_connections
#    and closed; the agent's CPU time over the next 3 s stays small; the log
#    stays small and says what happened (rate-limited);
#  - once the idle ones are swept (--idle-timeout), tokens are served again.
. "$(dirname "$0")/../lib.sh"

KEY=fdlimit_key_0123456789
write_apikey_config local
MM_AGENT_WRAP="prlimit --nofile=256:256" start_agent --idle-timeout 4
assert_exit 0 helper set-api-key <<<"$KEY"
limit=$(awk '/Max open files/ {print $4}' "/proc/$MM_AGENT_PID/limits")
assert_eq 256 "$limit" "the agent's descriptor limit"

cpu_ticks() { awk '{print $14 + $15}' "/proc/$MM_AGENT_PID/stat"; }

log "400 idle clients against a limit of 256"
node "$MM_TOP/tests/integration/sockload.mjs" idle "$MIMIR_AGENT_SOCK" 400 3 >"$MM_TMP/idle.json" &
loader=$!
track_pid "$loader"
sleep 0.5 # the connections pile up; then measure what holding them costs
t0=$(cpu_ticks)
wait "$loader" || fail "the idle clients' driver failed"
t1=$(cpu_ticks)
res=$(cat "$MM_TMP/idle.json")
log "clients: $res; agent CPU over the hold: $((t1 - t0)) ticks"
(($(jqs .connected "$res") == 400)) || fail "not every client could connect (the kernel queues them): $res"
# A spinning accept() burns ~100 ticks a second; an idle loop almost none.
ticks=$((t1 - t0))
((ticks < 60)) || fail "the agent used $ticks CPU ticks in about 2.5 s while out of descriptors"
size=$(stat -c %s "$MM_AGENT_LOG")
((size < 16384)) || fail "the agent wrote $size bytes of log"
(($(jqs .refused "$res") >= 100)) || fail "clients beyond the cap were not told too_many_connections: $res"
grep -q 'refused [0-9]* connection(s)' "$MM_AGENT_LOG" || fail "the refusals were not logged"
(($(grep -c 'refused [0-9]* connection(s)' "$MM_AGENT_LOG") <= 3)) || fail "refusals not rate-limited: $(grep -c refused "$MM_AGENT_LOG") lines"

log "the agent serves again"
assert_exit 0 helper token
assert_eq "$KEY" "$OUT"
_mm_alive "$MM_AGENT_PID" || fail "the agent died"
stop_agent
log "ok"
