#!/usr/bin/env bash
# The helper's token path is a socket, one line of JSON and stdout: its
# binary needs no GLib, libsecret or libcurl, and `mimir-helper token`
# opens no file and makes no connection other than the agent's socket
# (traced with strace, so a stray config read or library load shows up).
. "$(dirname "$0")/../lib.sh"
command -v strace >/dev/null || fail "strace is missing (tests/deps.sh installs it)"

H=$MM_BUILD/mimir-helper
log "the helper's shared libraries are libc and (CJSON=system) libcjson, nothing else"
dyn=$(readelf -d "$H") || fail "cannot read $H as an ELF binary"
needed=$(sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p' <<<"$dyn" | sort | tr '\n' ' ')
for lib in $needed; do
    case $lib in
    libc.so.* | libcjson.so.*) ;;
    # Sanitizer builds (make asan) bring their runtimes.
    libasan.so.* | libubsan.so.* | libm.so.* | libgcc_s.so.* | libstdc++.so.*) ;;
    *) fail "mimir-helper needs $lib (all it may need: libc, libcjson)" ;;
    esac
done
log "  NEEDED: ${needed:-none (static)}"
if syms=$(nm "$H" 2>/dev/null) && [[ -n $syms ]]; then
    bad=$(grep -E ' (g_main_|g_object_|g_dbus_|secret_|curl_|SSL_|sodium_)' <<<"$syms" | head -3 || true)
    [[ -z $bad ]] || fail "mimir-helper contains symbols of libraries it must not link: $bad"
fi

# A sanitizer runtime reads /proc and refuses to run under ptrace: the
# linkage check above is all a sanitizer build can show.
if grep -qa -e __asan_init -e __ubsan_handle "$H"; then
    skip "mimir-helper is built with a sanitizer; its start-up is the runtime's, not ours"
fi

write_apikey_config
start_agent
helper set-api-key >/dev/null <<<"path_test_key_0123456789"

log "token under strace: no file opened, the socket directory checked, one AF_UNIX connection"
trace=$MM_TMP/token.trace
MIMIR_NO_AUTOSTART=1 strace -f -qq -o "$trace" -e trace=%file,%network "$H" token >"$MM_TMP/out" ||
    fail "helper token failed under strace: $(cat "$trace")"
assert_eq "path_test_key_0123456789" "$(cat "$MM_TMP/out")" "token under strace"
# Loading a dynamic build's libraries is the loader's business, not the token path's.
# The one file access of its own is the trust check: an lstat of the socket's
# directory (owned by us, 0700, not a symlink) before anything is sent.
sockdir=$(dirname "$MIMIR_AGENT_SOCK")
checks=$(grep -cE "^[0-9]+ +(newfstatat|lstat)\((AT_FDCWD, )?\"$sockdir\".*AT_SYMLINK_NOFOLLOW|^[0-9]+ +lstat\(\"$sockdir\"" "$trace" || true)
assert_eq 1 "$checks" "lstat calls on the socket directory (the trust check)"
opened=$(grep -E '^[0-9]+ +(open|openat|creat|stat|newfstatat|lstat|access|readlink)' "$trace" |
    grep -vE '"/etc/ld\.so\.(cache|preload)"|/lib[^"]*/(libc|libcjson)\.so|"/proc/self/exe"|"", ' |
    grep -vF "\"$sockdir\"" || true)
[[ -z $opened ]] || fail "the token path touched files: $opened"
grep -qE '^[0-9]+ +getsockopt\([0-9]+, SOL_SOCKET, SO_PEERCRED' "$trace" ||
    fail "the token path did not check the agent's peer credentials: $(grep -E 'getsockopt|connect' "$trace")"
sockets=$(grep -cE '^[0-9]+ +socket\(' "$trace" || true)
assert_eq 1 "$sockets" "sockets the token path opened"
grep -qE "^[0-9]+ +socket\(AF_UNIX" "$trace" || fail "the token path's socket is not AF_UNIX: $(grep socket "$trace")"
grep -qE "^[0-9]+ +connect\([0-9]+, \{sa_family=AF_UNIX, sun_path=\"$MIMIR_AGENT_SOCK\"" "$trace" ||
    fail "the token path did not connect to $MIMIR_AGENT_SOCK: $(grep connect "$trace")"
stop_agent
