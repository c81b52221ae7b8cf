#!/usr/bin/env bash
# The Debian package: `make deb` builds it from packaging/debian (lintian
# reports no errors), dpkg installs it on this machine, the installed helper
# runs, finds the agent next to itself and starts it, the installed systemd
# user units pass `systemd-analyze verify`, the completions and man pages are
# where the shells and man look, and `dpkg --purge` leaves nothing behind.
# Installing touches /usr: root only (CI runs as root on a throwaway machine).
. "$(dirname "$0")/../lib.sh"

((EUID == 0)) || skip "installs a package: needs root"
for t in dpkg-buildpackage dh lintian systemd-analyze; do
    command -v "$t" >/dev/null || skip "$t is missing (run tests/deps.sh)"
done
pkg=mimir-agent
if dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed'; then
    skip "$pkg is already installed on this machine: not touching it"
fi
installed=0
_pkg_cleanup() { ((installed)) && dpkg --purge "$pkg" >/dev/null 2>&1; return 0; }
trap '_pkg_cleanup; _mm_cleanup' EXIT

out=$MM_TMP/deb
log "make deb (dpkg-buildpackage + lintian)"
make -C "$MM_TOP" --no-print-directory BUILD="$out/build" deb >"$MM_TMP/make-deb.log" 2>&1 ||
    { tail -n 40 "$MM_TMP/make-deb.log" >&2; fail "make deb failed"; }
deb=$(ls "$out"/build/deb/${pkg}_*.deb)
[[ -f $deb ]] || fail "no .deb in $out/build/deb"
grep -q "^E: " "$out/build/deb/lintian.log" && fail "lintian errors: $(grep '^E: ' "$out/build/deb/lintian.log")"
log "built $(basename "$deb"); lintian: $(grep -c '^W: ' "$out/build/deb/lintian.log" || true) warnings, no errors"

# What the package holds.
contents=$(dpkg-deb -c "$deb" | awk '{print $NF}' | sed 's|^\./|/|')
for f in /usr/bin/mimir-agent /usr/bin/mimir-helper /usr/bin/mimir-proxy \
         /usr/lib/systemd/user/mimir-agent.socket /usr/lib/systemd/user/mimir-agent.service \
         /usr/share/man/man1/mimir-helper.1.gz /usr/share/man/man1/mimir-agent.1.gz \
         /usr/share/man/man1/mimir-proxy.1.gz \
         /usr/share/bash-completion/completions/mimir-helper \
         /usr/share/zsh/vendor-completions/_mimir-helper \
         /usr/share/fish/vendor_completions.d/mimir-helper.fish \
         /usr/share/doc/mimir-agent/README.md.gz /usr/share/doc/mimir-agent/copyright; do
    grep -qx -- "$f" <<<"$contents" || fail "the package lacks $f"$'\n'"$contents"
done

before=$(mktemp) && after=$(mktemp)
snapshot() { find /usr /etc /var/lib/systemd -xdev \( -path /usr/share/info -prune -o -print \) 2>/dev/null | grep -i mimir | LC_ALL=C sort || true; }
snapshot >"$before"
dpkg -i "$deb" >"$MM_TMP/dpkg-i.log" 2>&1 || { cat "$MM_TMP/dpkg-i.log" >&2; fail "dpkg -i failed"; }
installed=1
log "installed"

assert_exit 0 /usr/bin/mimir-helper --version
assert_contains "$OUT" "mimir-helper 0.1.0"
# The units, as installed: ExecStart names the installed agent.
grep -qx 'ExecStart=/usr/bin/mimir-agent --foreground' /usr/lib/systemd/user/mimir-agent.service ||
    fail "ExecStart: $(grep ExecStart /usr/lib/systemd/user/mimir-agent.service)"
SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --user /usr/lib/systemd/user/mimir-agent.socket \
    /usr/lib/systemd/user/mimir-agent.service >"$MM_TMP/verify.log" 2>&1 ||
    { cat "$MM_TMP/verify.log" >&2; fail "systemd-analyze verify failed"; }
[[ ! -s $MM_TMP/verify.log ]] || fail "systemd-analyze verify complains: $(cat "$MM_TMP/verify.log")"
# Enabled for every user: sockets.target wants it.
[[ -L /etc/systemd/user/sockets.target.wants/mimir-agent.socket ]] ||
    fail "mimir-agent.socket is not enabled for users"
# man finds the pages; bash-completion's loader finds the completion.
MANWIDTH=80 man mimir-helper 2>/dev/null | grep -q 'doctor' || fail "man mimir-helper does not show doctor"
man -w mimir-proxy >/dev/null || fail "man mimir-proxy not found"
if [[ -f /usr/share/bash-completion/bash_completion ]]; then
    got=$(bash --norc -c '. /usr/share/bash-completion/bash_completion
        _completion_loader mimir-helper; COMP_WORDS=(mimir-helper doc); COMP_CWORD=1
        _mimir_helper; echo "${COMPREPLY[*]}"')
    assert_eq "doctor" "$got" "the installed bash completion"
fi

# The installed helper starts the installed agent (next to itself) and talks to it.
write_apikey_config
printf 'pkg-key' | env -u MIMIR_NO_AUTOSTART /usr/bin/mimir-helper set-api-key ||
    fail "the installed helper could not start and use the installed agent"
agent_pid=$(_mm_lock_pid "$MIMIR_AGENT_SOCK") || fail "no agent holds the lock"
assert_eq /usr/bin/mimir-agent "$(readlink "/proc/$agent_pid/exe")" "the agent the helper started"
assert_exit 0 env MIMIR_NO_AUTOSTART=1 /usr/bin/mimir-helper token
assert_eq pkg-key "$OUT"
kill -TERM "$agent_pid"
wait_for "the installed agent to stop" 10 pid_gone "$agent_pid"

dpkg --purge "$pkg" >"$MM_TMP/dpkg-purge.log" 2>&1 || { cat "$MM_TMP/dpkg-purge.log" >&2; fail "dpkg --purge failed"; }
installed=0
snapshot >"$after"
left=$(comm -13 "$before" "$after")
[[ -z $left ]] || fail "left behind after purge:"$'\n'"$left"
dpkg-query -W "$pkg" >/dev/null 2>&1 && [[ $(dpkg-query -W -f='${Status}' "$pkg") != *not-installed* ]] &&
    fail "dpkg still knows $pkg: $(dpkg-query -W -f='${Status}' "$pkg")"
rm -f "$before" "$after"
log "purged: nothing left behind"
log "PASS"
