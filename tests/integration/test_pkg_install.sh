#!/usr/bin/env bash
# `make install PREFIX=... DESTDIR=...` puts everything under DESTDIR+PREFIX
# and nowhere else: the three binaries, the systemd user units (ExecStart
# names the installed agent), the man pages, the bash/zsh/fish completions
# (the same scripts the installed helper prints) and the docs.
. "$(dirname "$0")/../lib.sh"

dest=$MM_TMP/dest
prefix=/opt/mimir-test
make -C "$MM_TOP" --no-print-directory BUILD="$MM_BUILD" install PREFIX="$prefix" DESTDIR="$dest" \
    >"$MM_TMP/install.log" 2>&1 || { cat "$MM_TMP/install.log" >&2; fail "make install failed"; }
root=$dest$prefix
got=$(cd "$dest" && find . -type f | sed 's|^\.||' | LC_ALL=C sort)
want=$(LC_ALL=C sort <<EOT
$prefix/bin/mimir-agent
$prefix/bin/mimir-helper
$prefix/bin/mimir-proxy
$prefix/lib/systemd/user/mimir-agent.service
$prefix/lib/systemd/user/mimir-agent.socket
$prefix/share/man/man1/mimir-agent.1
$prefix/share/man/man1/mimir-helper.1
$prefix/share/man/man1/mimir-proxy.1
$prefix/share/bash-completion/completions/mimir-helper
$prefix/share/zsh/site-functions/_mimir-helper
$prefix/share/fish/vendor_completions.d/mimir-helper.fish
$prefix/share/doc/mimir/README.md
$prefix/share/doc/mimir/protocol.md
$prefix/share/doc/mimir/architecture.md
EOT
)
assert_eq "$want" "$got" "the installed files"
assert_eq "ExecStart=$prefix/bin/mimir-agent --foreground" \
    "$(grep '^ExecStart=' "$root/lib/systemd/user/mimir-agent.service")"
assert_eq 644 "$(stat -c %a "$root/lib/systemd/user/mimir-agent.service")" "the unit's mode"
for f in mimir-agent mimir-helper mimir-proxy; do
    [[ -x $root/bin/$f ]] || fail "$f is not executable"
done
assert_eq "$("$root/bin/mimir-helper" completion bash)" \
    "$(cat "$root/share/bash-completion/completions/mimir-helper")" "the installed bash completion"
assert_eq "$("$root/bin/mimir-helper" completion zsh)" \
    "$(cat "$root/share/zsh/site-functions/_mimir-helper")" "the installed zsh completion"
assert_contains "$("$root/bin/mimir-helper" --version)" "mimir-helper"
log "PASS"
