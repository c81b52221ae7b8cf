#!/usr/bin/env bash
# Protocol edges found by review and fuzzing, against the real agent:
#  - a last request without a newline is answered when the client ends
#    its side (issue: it got no answer);
#  - an id of -1e400 (no finite number) is refused, not echoed as null;
#  - invalid UTF-8 is refused (issue: stored and echoed by set_api_key).
. "$(dirname "$0")/../lib.sh"

write_apikey_config local
start_agent
r=$(printf '{"v":1,"id":7,"op":"hello"}' | sock_send_raw)
assert_eq 7 "$(jqs .id "$r")" "the reply to a request without a newline: $r"
assert_eq true "$(jqs .ok "$r")"
r=$(printf '{"v":1,"id":1,"op":"hello"}\n{"v":1,"id":2,"op":"hello"}' | sock_send_raw)
assert_eq "1 2" "$(jq -s -r 'map(.id) | join(" ")' <<<"$r")" "two requests, the last without a newline"
r=$(sock_send '{"v":1,"id":-1e400,"op":"hello"}')
assert_eq bad_request "$(jqs .error.code "$r")" "an id of -1e400: $r"
assert_contains "$(jqs .error.message "$r")" "finite"
r=$(printf '{"v":1,"id":3,"op":"hello","x":"\xc0\xaf"}\n' | sock_send_raw)
assert_eq bad_request "$(jqs .error.code "$r")" "overlong UTF-8: $r"
stop_agent
log "ok"
