#!/usr/bin/env bash
# The agent keeps an allow-listed environment only, and lets go of the
# output of whoever started it (issue: autostarted by an MCP client it kept
# ANTHROPIC_API_KEY, GITHUB_TOKEN and the like for its whole life, and its
# first log line went to the client's stderr):
#  - autostarted by a helper whose environment holds such secrets: the
#    agent's environment (/proc/PID/environ) holds none of them, and the
#    helper's stderr holds no agent log line;
#  - started directly with them: the same (they are dropped and wiped).
. "$(dirname "$0")/../lib.sh"

((EUID == 0)) || skip "reading a non-dumpable process's environment needs root"
KEY=env_key_0123456789
SECRETS=(ANTHROPIC_API_KEY=sk-ant-envtest-1 GITHUB_TOKEN=ghp_envtest_2 MIMIR_JWT_SECRET=envtest_3
         AWS_SECRET_ACCESS_KEY=envtest_4)
write_apikey_config local
start_agent
assert_exit 0 helper set-api-key <<<"$KEY"
stop_agent

agent_env() { tr '\0' '\n' <"/proc/$1/environ"; }
check_env() { # PID WHAT
    local e s
    e=$(agent_env "$1")
    for s in "${SECRETS[@]}"; do
        assert_not_contains "$e" "${s#*=}" "$2: the agent's environment"
        assert_not_contains "$e" "${s%%=*}" "$2: the agent's environment"
    done
    assert_contains "$e" "HOME=$HOME" "$2: the agent keeps HOME"
    assert_contains "$e" "MIMIR_AGENT_SOCK=$MIMIR_AGENT_SOCK" "$2: the agent keeps its own settings"
}

log "autostarted by a helper with secrets in its environment"
assert_exit 0 env "${SECRETS[@]}" MIMIR_NO_AUTOSTART= "$MM_BUILD/mimir-helper" token
assert_eq "$KEY" "$OUT"
assert_not_contains "$ERR" "mimir-agent[" "the helper's stderr (the MCP client's log)"
pid=$(head -n1 "$MIMIR_AGENT_SOCK.lock")
[[ $pid =~ ^[0-9]+$ ]] || fail "no agent pid in the lock file"
track_pid "$pid"
check_env "$pid" "autostarted"
kill "$pid"
wait_for "the autostarted agent to stop" 10 pid_gone "$pid"

log "started directly with secrets in its environment"
env "${SECRETS[@]}" "$MM_BUILD/mimir-agent" --foreground >"$MM_TMP/agent-env.log" 2>&1 &
pid=$!
track_pid "$pid"
wait_for "the agent to answer" 10 agent_answers
check_env "$pid" "started directly"
kill "$pid"
wait "$pid" || fail "the agent's exit status"
log "ok"
