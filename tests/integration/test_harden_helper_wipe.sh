#!/usr/bin/env bash
# No secret outlives its use in mimir-helper's memory (hostile review,
# "helper leaves secrets in memory"): a vault passphrase (`unlock`, asked
# twice) and an API key (`set-api-key`) read from standard input are, at
# the helper's _exit (gdb breakpoint), nowhere in its writable memory:
# not in stdio's input buffer, not in cJSON's printed request, not on the
# stack.  (Real agent with the file store; gdb reads the helper's memory.)
. "$(dirname "$0")/../lib.sh"

command -v gdb >/dev/null || fail "gdb is missing (run tests/deps.sh)"
# A sanitizer's allocator keeps freed blocks in quarantine and cannot run
# under ptrace: the question is for the build users run (make check).
if grep -qa -e __asan_init -e __tsan_init "$MM_BUILD/mimir-helper"; then
    skip "mimir-helper is built with a sanitizer; gdb cannot read it as users run it"
fi
unset DBUS_SESSION_BUS_ADDRESS
write_apikey_config local
start_agent

# copies HELPER-ARGS...: the secret in $MM_TMP/needle, piped to the helper
# on standard input as INPUT; prints the helper's output and the count line.
copies() {
    MM_NEEDLE_FILE=$MM_TMP/needle MIMIR_NO_AUTOSTART=1 gdb -q -batch -nx \
        -ex 'set pagination off' -ex 'break _exit' \
        -ex "run $* <$MM_TMP/input" -ex "source $MM_TOP/tests/integration/findsecret.py" \
        "$MM_BUILD/mimir-helper" 2>&1
}

log "unlock: the passphrase"
printf 'vault-passphrase-%s' "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$MM_TMP/needle"
printf '%s\n%s\n' "$(cat "$MM_TMP/needle")" "$(cat "$MM_TMP/needle")" >"$MM_TMP/input"
out=$(copies unlock)
assert_contains "$out" "Credential vault created and unlocked"
assert_contains "$out" "secret copies at exit: 0"

log "set-api-key: the key"
printf 'apikey_%s' "$(head -c 12 /dev/urandom | od -An -tx1 | tr -d ' \n')" >"$MM_TMP/needle"
printf '%s\n' "$(cat "$MM_TMP/needle")" >"$MM_TMP/input"
out=$(copies set-api-key --profile local)
assert_contains "$out" "API key stored"
assert_contains "$out" "secret copies at exit: 0"
assert_exit 0 helper token --profile local
assert_eq "$(cat "$MM_TMP/needle")" "$OUT" "the key the agent serves"
stop_agent
log "ok"
