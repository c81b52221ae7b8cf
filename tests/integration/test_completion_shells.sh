#!/usr/bin/env bash
# The completion scripts that `mimir-helper completion bash|zsh|fish` prints
# load without errors in each shell and offer every command, subcommand and
# option the helper's parser accepts (as `completion list` reports them from
# the same tables), plus the profile names of the config and spelled-out
# choices.  bash is driven through COMP_WORDS/COMP_CWORD and the function
# `complete -p` registered; zsh loads the file through compinit from $fpath
# and its completion function runs with _describe/_arguments recording what
# they are offered; fish answers `complete -C` itself.
. "$(dirname "$0")/../lib.sh"

command -v zsh >/dev/null || skip "zsh is missing (run tests/deps.sh)"
H=$MM_BUILD/mimir-helper
export PATH=$MM_BUILD:$PATH
write_config '{"default_profile":"work","profiles":{
  "work":{"kind":"api-key","server_url":"http://127.0.0.1:8080/mcp"},
  "lab-2":{"kind":"api-key","server_url":"http://127.0.0.1:8081/mcp"}}}'

list=$("$H" completion list)
mapfile -t commands < <(awk 'NF && !seen[$1]++ { print $1 }' <<<"$list")
((${#commands[@]} >= 15)) || fail "completion list names only ${#commands[@]} commands: $list"
# The same commands as the helper's own usage text.
usage_cmds=$("$H" --help | awk '/^Commands:/ { on = 1; next } on && /^  [a-z]/ { print $1 } on && /^$/ { exit }')
assert_eq "$(printf '%s\n' "${commands[@]}")" "$usage_cmds" "completion list vs --help commands"

# options LINE: the --options of one `completion list` line, one per line, no '='.
options() { tr ' ' '\n' <<<"$1" | sed -n 's/^\(--[a-z-]*\)=\{0,1\}$/\1/p'; }
line_of() { awk -v c="$1" -v s="${2:-}" 's == "" ? ($1 == c && $2 !~ /^[a-z]/) : ($1 == c && $2 == s)' <<<"$list"; }

# ---- bash ------------------------------------------------------------------
"$H" completion bash >"$MM_TMP/mimir-helper.bash"
bash -n "$MM_TMP/mimir-helper.bash" || fail "the bash script does not parse"
bash_complete() { # WORDS...: the completions bash offers for the last word
    bash --norc --noprofile -c '
        set -u
        source "$1" || exit 1
        complete -p mimir-helper >/dev/null || exit 1
        shift
        COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1))
        _mimir_helper
        printf "%s\n" "${COMPREPLY[@]}"' _ "$MM_TMP/mimir-helper.bash" mimir-helper "$@" 2>"$MM_TMP/bash.err"
    [[ ! -s $MM_TMP/bash.err ]] || fail "bash said: $(cat "$MM_TMP/bash.err")"
}
top=$(bash_complete "")
for c in "${commands[@]}"; do
    grep -qx -- "$c" <<<"$top" || fail "bash does not offer command $c: $top"
    got=$(bash_complete "$c" --)
    for o in $(options "$(line_of "$c")"); do
        grep -qx -- "$o" <<<"$got" || fail "bash does not offer $o after '$c': $got"
    done
done
assert_eq "token"$'\n'"unlock" "$(bash_complete to | sort)$(bash_complete unl | sed 's/^/\n/')" "bash: prefix"
assert_eq "$(printf '%s\n' add default list remove)" "$(bash_complete profile "" | grep -v -- '^--' | sort)" \
    "bash: profile subcommands"
for o in $(options "$(line_of profile add)"); do
    grep -qx -- "$o" <<<"$(bash_complete profile add NAME --)" || fail "bash: profile add lacks $o"
done
assert_eq "$(printf '%s\n' lab-2 work)" "$(bash_complete token --profile "" | sort)" "bash: profile names"
assert_eq "work" "$(bash_complete status --json --profile w)" "bash: profile name prefix"
assert_eq "$(printf '%s\n' bash fish list zsh)" "$(bash_complete completion "" | sort)" "bash: shells"
# A value is not taken for a command: after "--profile work" the command is still token.
assert_contains "$(bash_complete --profile work token --m)" "--min-ttl"
mkdir -p "$MM_TMP/certs" && touch "$MM_TMP/certs/ca.pem"
assert_eq "$MM_TMP/certs/ca.pem" "$(bash_complete profile add x --ca-file "$MM_TMP/certs/c")" "bash: files"
log "bash: ${#commands[@]} commands and their options offered"

# ---- zsh -------------------------------------------------------------------
fp=$MM_TMP/zfunc
mkdir -p "$fp"
"$H" completion zsh >"$fp/_mimir-helper"
zsh -n "$fp/_mimir-helper" || fail "the zsh script does not parse"
# WORDS...: what the completion function hands to _describe/_arguments.
zsh_complete() {
    zsh -f -c '
        fpath=("$1" $fpath); shift
        autoload -U compinit && compinit -u -d "$ZDUMP" || exit 1
        [[ $_comps[mimir-helper] == _mimir-helper ]] || { print -u2 "not registered: $_comps[mimir-helper]"; exit 1; }
        _describe() { print -l -- ${(P)${@[-1]}} }
        _arguments() { print -l -- "$@" }
        words=(mimir-helper "$@"); CURRENT=$#words
        _mimir-helper' _ "$fp" "$@" 2>"$MM_TMP/zsh.err"
    [[ ! -s $MM_TMP/zsh.err ]] || fail "zsh said: $(cat "$MM_TMP/zsh.err")"
}
export ZDUMP=$MM_TMP/zcompdump
top=$(zsh_complete "")
for c in "${commands[@]}"; do
    grep -q "^$c:" <<<"$top" || fail "zsh does not offer command $c: $top"
    got=$(zsh_complete "$c" --)
    for o in $(options "$(line_of "$c")"); do
        grep -q -- "^$o\(=\|$\)" <<<"$got" || fail "zsh does not offer $o after '$c': $got"
    done
done
assert_contains "$top" "token:Print a current access token"
assert_eq "$(printf '%s\n' add list remove default)" "$(zsh_complete profile "" | grep -v -- "^-")" "zsh: profile subcommands"
got=$(zsh_complete profile add NAME --)
for o in $(options "$(line_of profile add)"); do
    grep -q -- "^$o\(=\|$\)" <<<"$got" || fail "zsh: profile add lacks $o: $got"
done
assert_contains "$(zsh_complete completion "")" "1:argument:(bash zsh fish list)"
assert_contains "$(zsh_complete token "")" "--profile=:value:_mimir_helper_profiles"
log "zsh: loaded through compinit, ${#commands[@]} commands and their options offered"

# ---- fish ------------------------------------------------------------------
if command -v fish >/dev/null; then
    "$H" completion fish >"$MM_TMP/mimir-helper.fish"
    fish -n "$MM_TMP/mimir-helper.fish" || fail "the fish script does not parse"
    fish_complete() { # COMMANDLINE
        fish --no-config -c 'source $argv[1]; or exit 1; complete -C $argv[2]' \
            "$MM_TMP/mimir-helper.fish" "$1" 2>"$MM_TMP/fish.err" | cut -f1
        [[ ! -s $MM_TMP/fish.err ]] || fail "fish said: $(cat "$MM_TMP/fish.err")"
    }
    top=$(fish_complete "mimir-helper ")
    for c in "${commands[@]}"; do
        grep -qx -- "$c" <<<"$top" || fail "fish does not offer command $c: $top"
        got=$(fish_complete "mimir-helper $c --")
        for o in $(options "$(line_of "$c")"); do
            grep -qx -- "$o" <<<"$got" || fail "fish does not offer $o after '$c': $got"
        done
    done
    assert_eq "$(printf '%s\n' add default list remove)" "$(fish_complete "mimir-helper profile " | sort)" \
        "fish: profile subcommands"
    assert_eq "$(printf '%s\n' lab-2 work)" "$(fish_complete "mimir-helper token --profile " | sort)" \
        "fish: profile names"
    log "fish: ${#commands[@]} commands and their options offered"
else
    log "fish is not installed: its script is not checked"
fi
log "PASS"
