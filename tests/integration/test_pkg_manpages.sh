#!/usr/bin/env bash
# The man pages cover what the programs accept:
#  - every command of mimir-helper's command table (as `completion list`
#    reports it from the parser's own tables) has an entry in mimir-helper(1),
#    and every option that command or its subcommands accept is described in
#    that entry (the shared --profile, --timeout, --help under OPTIONS);
#  - every option `mimir-agent --help` and `mimir-proxy --help` list is in
#    mimir-agent(1) and mimir-proxy(1);
#  - groff renders the three pages without a warning.
. "$(dirname "$0")/../lib.sh"

command -v man >/dev/null || skip "man is missing"
man_dir=$MM_TOP/packaging/man
render() { # PAGE: the page as text, one paragraph a line (no wrapping)
    MANWIDTH=2000 man --nh --nj -l "$man_dir/$1" 2>/dev/null | col -b
}
for page in mimir-helper.1 mimir-agent.1 mimir-proxy.1; do
    w=$(MANWIDTH=80 man --warnings -l "$man_dir/$page" 2>&1 >/dev/null || true)
    [[ -z $w ]] || fail "groff warns about $page: $w"
done

helper_page=$(render mimir-helper.1)
# The COMMANDS section: tag lines (7 spaces, then the command) and their text.
commands_text=$(awk '/^COMMANDS/ { on = 1; next } /^[A-Z]/ { on = 0 } on' <<<"$helper_page")
options_text=$(awk '/^OPTIONS/ { on = 1; next } /^[A-Z]/ { on = 0 } on' <<<"$helper_page")
entry() { # COMMAND: every entry whose tag starts with it, with its text
    awk -v c="$1" '/^       [^ ]/ { split($0, w, " "); on = (w[1] == c) } on' <<<"$commands_text"
}
for o in --profile --timeout; do
    grep -q -- "$o" <<<"$options_text" || fail "OPTIONS of mimir-helper(1) lacks $o"
done

list=$("$MM_BUILD/mimir-helper" completion list)
n=0
while read -r cmd rest; do
    [[ -n $cmd ]] || continue
    text=$(entry "$cmd")
    [[ -n $text ]] || fail "mimir-helper(1) has no entry for the command '$cmd'"
    for w in $rest; do
        [[ $w == --* ]] || continue # the subcommand word of "profile add ..."
        o=${w%=}
        case $o in --profile | --timeout | --help) continue ;; esac
        grep -q -- "$o\b" <<<"$text" || fail "mimir-helper(1): the entry of '$cmd' does not describe $o"
        n=$((n + 1))
    done
done <<<"$list"
log "mimir-helper(1): $(awk '{print $1}' <<<"$list" | sort -u | wc -l) commands, $n command options"

for prog in mimir-agent mimir-proxy; do
    page=$(render "$prog.1")
    opts=$("$MM_BUILD/$prog" --help | grep -oE -- '--[a-z][a-z-]*' | sort -u)
    for o in $opts; do
        grep -q -- "$o\b" <<<"$page" || fail "$prog(1) does not describe $o (it is in $prog --help)"
    done
    log "$prog(1): $(wc -w <<<"$opts") options of --help"
done
log "PASS"
