#!/usr/bin/env bash
# The agent under valgrind memcheck for a short api-key scenario (set a
# key, tokens, headers, bad requests, reload, logout, SIGTERM): no invalid
# access, no use of uninitialised memory, no definite leak.
. "$(dirname "$0")/../lib.sh"

command -v valgrind >/dev/null || fail "valgrind is missing (tests/deps.sh installs it)"
# Sanitizer builds (make asan) cannot run under valgrind; ASan checks them.
if grep -qa -e __asan_init -e __tsan_init "$MM_BUILD/mimir-agent"; then
    skip "mimir-agent is built with a sanitizer; valgrind cannot run it"
fi
KEY="vgkey_$(head -c 10 /dev/urandom | od -An -tx1 | tr -d ' \n')"
write_apikey_config local

supp=()
[[ -f $MM_TOP/tests/valgrind.supp ]] && supp=(--suppressions="$MM_TOP/tests/valgrind.supp")
vglog=$MM_TMP/valgrind.log
export MM_AGENT_WRAP="valgrind --quiet --leak-check=full --errors-for-leak-kinds=definite --error-exitcode=99 --track-fds=no --log-file=$vglog ${supp[*]}"
MM_START_TIMEOUT=60 start_agent
unset MM_AGENT_WRAP

log "scenario under valgrind"
assert_exit 4 helper token
assert_exit 0 helper set-api-key <<<"$KEY"
for i in $(seq 1 10); do
    out=$(helper token) || fail "token $i under valgrind"
    assert_eq "$KEY" "$out"
done
assert_exit 0 helper headers
assert_eq "{\"X-API-Key\":\"$KEY\"}" "$OUT"
assert_exit 0 helper status --json
r=$(sock_send 'not json' '{"v":2,"op":"x"}' '{"v":1,"id":1,"op":"nope"}' '{"v":1,"id":2,"op":"hello"}')
assert_eq 4 "$(wc -l <<<"$r")" "four replies under valgrind: $r"
head -c 70000 /dev/zero | tr '\0' a >"$MM_TMP/big"
timeout 20 socat -b 262144 -t 10 - "UNIX-CONNECT:$MIMIR_AGENT_SOCK" <"$MM_TMP/big" >/dev/null 2>&1 || true
write_config '{"profiles":{"local":{"kind":"api-key"},"two":{"kind":"api-key"}},"default_profile":"local"}'
assert_exit 0 helper reload
assert_exit 0 helper token
assert_eq "$KEY" "$OUT" "token after a reload that changed the profile"
"$MM_BUILD/tests/loadclient" --conns 20 --requests 20 --pipeline 4 >/dev/null ||
    fail "loadclient under valgrind"
assert_exit 0 helper logout
assert_exit 4 helper token

log "SIGTERM; valgrind's verdict is the exit status"
kill -TERM "$MM_AGENT_PID"
wait_agent_exit 60
if [[ $MM_AGENT_STATUS != 0 && -s $vglog ]]; then
    echo "---- valgrind log ----" >&2
    cat "$vglog" >&2
fi
assert_eq 0 "$MM_AGENT_STATUS" "exit status of the agent under valgrind (99: valgrind found errors)"
log "ok"
