#!/usr/bin/env bash
# A request whose keyring job is in flight must get an answer even when a
# reload replaces its profile meanwhile (the keyring is frozen with SIGSTOP
# to hold the job in flight; dbus-monitor shows when it is).
#
# Regression test: before commit 7e7ec88 the job's done callback was
# skipped for a profile the reload retired, so the set_api_key below was
# never answered and its connection stayed held forever.
. "$(dirname "$0")/../lib.sh"

command -v dbus-monitor >/dev/null || fail "dbus-monitor is missing (package dbus)"

write_apikey_config local
start_agent
assert_exit 0 helper set-api-key <<<"first_key"

log "freeze the keyring so the next keyring job stays in flight"
# Watch the bus: once the agent's call to the (frozen) keyring shows up,
# the set_api_key job is certainly in flight.
dbus-monitor --session "type='method_call',destination='org.freedesktop.secrets'" \
    >"$MM_TMP/monitor.out" 2>&1 &
track_pid $!
wait_for "dbus-monitor to start" 5 grep -q 'member=' "$MM_TMP/monitor.out"
kill -STOP "$MM_KEYRING_PID"
calls_before=$(grep -c '^method call' "$MM_TMP/monitor.out" || true)
cont_keyring() { kill -CONT "$MM_KEYRING_PID" 2>/dev/null || true; }
conn_open "$MM_TMP/req.out" 30
printf '{"v":1,"id":"slow","op":"set_api_key","api_key":"second_key"}\n' >&"$MM_CONN_FD"
new_call() { (($(grep -c '^method call' "$MM_TMP/monitor.out") > calls_before)); }
wait_for "the agent's keyring call for set_api_key" 10 new_call

log "reload with a changed server_url: the profile is replaced"
write_config '{"profiles":{"local":{"kind":"api-key","server_url":"http://127.0.0.1:9999/mcp"}}}'
assert_exit 0 helper reload
cont_keyring

log "the pending set_api_key must be answered (ok or an error, but answered)"
wait_for "an answer to the set_api_key sent before the reload" 10 grep -q '"id":"slow"' "$MM_TMP/req.out"
r=$(grep '"id":"slow"' "$MM_TMP/req.out")
log "answer: $r"
if [[ $(jqs .ok "$r") == true ]]; then
    # An ok answer promises the key is stored.
    assert_eq second_key "$(jqs .secret "$(secret-tool lookup profile local)")" "keyring after an ok answer"
fi
exec {MM_CONN_FD}>&-
# Whichever key is stored belongs to the old server: the replaced profile,
# which points at another one, must not send it there.
assert_exit 4 helper token
assert_contains "$ERR" "belongs to http://127.0.0.1:8080/, and the profile now points at http://127.0.0.1:9999/"
k=$(jqs .secret "$(secret-tool lookup profile local)")
[[ $k == first_key || $k == second_key ]] || fail "keyring after the race: $k"
stop_agent
log "ok"
