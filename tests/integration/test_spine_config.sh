#!/usr/bin/env bash
# hello, status, status --json, unknown profiles, `profile add|list|remove|
# default` editing the config with the running agent reloading it, and
# invalid configs: a clear message naming file and key, while the agent
# keeps serving with its previous config; a stored API key stays with the
# server (origin) it was stored for when the profile is pointed elsewhere.
. "$(dirname "$0")/../lib.sh"

KEY="cfgkey_$(head -c 10 /dev/urandom | od -An -tx1 | tr -d ' \n')"

log "an agent without a config file starts with no profiles"
[[ ! -e $MIMIR_CONFIG ]] || fail "precondition: no config file yet"
start_agent

log "hello over the raw socket"
r=$(sock_send '{"v":1,"id":41,"op":"hello"}')
assert_eq true "$(jqs .ok "$r")" "hello ok: $r"
assert_eq 41 "$(jqs .id "$r")" "hello id"
assert_eq mimir-agent "$(jqs .agent "$r")"
assert_eq 1 "$(jqs .protocol "$r")"
assert_eq "$MM_AGENT_PID" "$(jqs .pid "$r")" "hello pid is the agent's"
[[ -n $(jqs .version "$r") ]] || fail "hello without a version: $r"
assert_eq null "$(jqs .default_profile "$r")" "no default profile yet"

log "status with no profiles"
assert_exit 0 helper status
assert_contains "$OUT" "No profiles configured (config: $MIMIR_CONFIG)"
assert_exit 0 helper status --json
assert_eq '[]' "$(jq -c . <<<"$OUT")" "status --json with no profiles"
assert_exit 1 helper token
assert_contains "$ERR" "no default profile"
assert_exit 0 helper profile list
assert_contains "$OUT" "No profiles in $MIMIR_CONFIG"

log "profile add creates the config; the running agent reloads it"
assert_exit 0 helper profile add work --kind api-key --url http://127.0.0.1:9/mcp
assert_contains "$OUT" "Profile work saved in $MIMIR_CONFIG"
assert_eq api-key "$(jq -r .profiles.work.kind "$MIMIR_CONFIG")" "config file after add"
assert_eq 600 "$(stat -c %a "$MIMIR_CONFIG")" "config file mode"
assert_eq 700 "$(stat -c %a "$(dirname "$MIMIR_CONFIG")")" "new config dir mode"
assert_exit 0 helper status --json
assert_eq work "$(jqs '.[0].name' "$OUT")" "agent sees the new profile"
assert_eq true "$(jqs '.[0].default' "$OUT")" "a lone profile is the default"
assert_exit 0 helper set-api-key <<<"$KEY"
assert_exit 0 helper token
assert_eq "$KEY" "$OUT"

log "a second profile; list, default, status --profile"
assert_exit 0 helper profile add corp --issuer https://id.example --client-id mimir-cli \
    --scope "openid offline_access" --param prompt=consent --redirect-port 8765
assert_eq mimir-cli "$(jq -r .profiles.corp.client_id "$MIMIR_CONFIG")"
assert_eq consent "$(jq -r .profiles.corp.auth_params.prompt "$MIMIR_CONFIG")"
assert_eq 8765 "$(jq -r .profiles.corp.redirect_port "$MIMIR_CONFIG")"
assert_exit 0 helper profile list
# Two profiles, none chosen: no default at all.
assert_contains "$OUT" $'work\tapi-key\thttp://127.0.0.1:9/mcp'
assert_contains "$OUT" $'corp\toauth\thttps://id.example'
assert_exit 1 helper token
assert_contains "$ERR" "no default profile"
assert_exit 0 helper token --profile work
assert_eq "$KEY" "$OUT" "token survives the reload that added corp"
assert_exit 0 helper profile default corp
assert_eq corp "$(jq -r .default_profile "$MIMIR_CONFIG")"
assert_exit 0 helper profile list
assert_contains "$OUT" $'corp *\toauth'
assert_exit 0 helper status --json
assert_eq true "$(jqs '.[] | select(.name=="corp") | .default' "$OUT")"
assert_eq login_required "$(jqs '.[] | select(.name=="corp") | .state' "$OUT")"
assert_exit 4 helper token
assert_contains "$ERR" "mimir-helper login --profile corp"
assert_exit 0 helper status --profile work --json
assert_eq work "$(jqs .name "$OUT")" "status --profile work"
assert_eq ready "$(jqs .state "$OUT")"
assert_exit 0 helper status
assert_contains "$OUT" "corp (default)"
assert_contains "$OUT" "state: login_required"
r=$(sock_send '{"v":1,"id":"h","op":"hello"}')
assert_eq corp "$(jqs .default_profile "$r")" "hello shows the default"

log "unknown profiles: exit 1 with a message"
assert_exit 1 helper token --profile nope
assert_contains "$ERR" 'no profile named "nope"'
assert_exit 1 helper status --profile nope
assert_contains "$ERR" 'no profile named "nope"'
assert_exit 1 helper profile default nope
assert_contains "$ERR" "default_profile"
assert_eq corp "$(jq -r .default_profile "$MIMIR_CONFIG")" "a refused edit leaves the file alone"
assert_exit 1 helper profile remove nope
assert_contains "$ERR" 'no profile named "nope"'

log "profile remove drops it from the file and from the agent"
assert_exit 0 helper profile remove corp
assert_eq null "$(jq -r '.profiles.corp' "$MIMIR_CONFIG")"
assert_eq null "$(jq -r '.default_profile' "$MIMIR_CONFIG")" "removing the default clears default_profile"
assert_exit 0 helper status --json
assert_eq work "$(jqs '[.[].name] | join(",")' "$OUT")" "agent after remove"
assert_exit 1 helper token --profile corp
assert_exit 0 helper token
assert_eq "$KEY" "$OUT" "work is the lone profile, hence the default"

log "invalid edits through the helper are refused with file and key"
before=$(cat "$MIMIR_CONFIG")
assert_exit 1 helper profile add bad --kind weird
assert_contains "$ERR" "$MIMIR_CONFIG"
assert_contains "$ERR" "profiles.bad.kind"
assert_exit 1 helper profile add bad --issuer https://id.example
assert_contains "$ERR" "profiles.bad.client_id"
assert_exit 1 helper profile add bad --kind api-key --url ftp://x
assert_contains "$ERR" "profiles.bad.server_url"
assert_exit 1 helper profile add 'bad name' --kind api-key
assert_contains "$ERR" 'profiles."bad name"'
assert_exit 2 helper profile add bad --nonsense
assert_eq "$before" "$(cat "$MIMIR_CONFIG")" "refused edits must not touch the file"

log "an invalid file: reload fails naming file and key, the agent keeps its config"
write_config '{"profiles":{"work":{"kind":"api-key","server_url":"http://127.0.0.1:9/mcp","colour":"red"}}}'
assert_exit 1 helper reload
assert_contains "$ERR" "$MIMIR_CONFIG"
assert_contains "$ERR" "profiles.work.colour: unknown key"
assert_exit 0 helper token
assert_eq "$KEY" "$OUT" "old config still served after a failed reload"
grep -q 'reload failed, keeping the previous config' "$MM_AGENT_LOG" ||
    fail "the agent did not log the failed reload"
assert_exit 1 helper profile list
assert_contains "$ERR" "profiles.work.colour"

write_config '{"profiles":{"work":{"kind":"api-key"}},'
assert_exit 1 helper reload
assert_contains "$ERR" "$MIMIR_CONFIG: not valid JSON"
write_config '{"profiles":{"work":{"kind":"api-key","redirect_port":99999}}}'
assert_exit 1 helper reload
assert_contains "$ERR" "profiles.work.redirect_port"
write_config '{"profiles":{"work":{"kind":"oauth","client_id":"x"}}}'
assert_exit 1 helper reload
assert_contains "$ERR" "profiles.work"
assert_contains "$ERR" '"issuer" or "server_url"'
assert_exit 0 helper token
assert_eq "$KEY" "$OUT" "still the old config"
_mm_alive "$MM_AGENT_PID" || fail "the agent died on invalid configs"

log "a fixed file is picked up by reload"
write_config '{"profiles":{"work":{"kind":"api-key","server_url":"http://127.0.0.1:9/v2/mcp"},
                          "other":{"kind":"api-key"}},"default_profile":"other"}'
assert_exit 0 helper reload
assert_exit 4 helper token
assert_contains "$ERR" "profile other"
assert_exit 0 helper token --profile work
assert_eq "$KEY" "$OUT" "another path on the same server keeps the key"

log "a key stays with the server it was stored for"
write_config '{"profiles":{"work":{"kind":"api-key","server_url":"http://127.0.0.1:8080/mcp"}}}'
assert_exit 0 helper reload
assert_exit 4 helper token --profile work
assert_contains "$ERR" "belongs to http://127.0.0.1:9/, and the profile now points at http://127.0.0.1:8080/"
assert_eq "$KEY" "$(jqs .secret "$(secret-tool lookup profile work)")" "the key stays in the keyring"

log "an agent started on an invalid file runs with no profiles and says why"
stop_agent
write_config '{"profiles":{"work":{"kind":"api-key","port":1}}}'
start_agent
grep -q "$MIMIR_CONFIG: profiles.work.port: unknown key" "$MM_AGENT_LOG" ||
    fail "startup with a bad config: no message naming file and key in the log"
assert_exit 0 helper status --json
assert_eq '[]' "$(jq -c . <<<"$OUT")"
write_config '{"profiles":{"work":{"kind":"api-key","server_url":"http://127.0.0.1:9/mcp"}}}'
assert_exit 0 helper reload
assert_exit 0 helper token
assert_eq "$KEY" "$OUT" "key still in the keyring once the config is fixed"
stop_agent
log "ok"
