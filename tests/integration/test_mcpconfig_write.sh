#!/usr/bin/env bash
# mcp-config --write merges the entry into each client's own file:
#  - creates the file and its directories when missing;
#  - keeps every other server and setting (and their order), replaces only
#    its own entry, and keeps the previous bytes in FILE.mimir.bak;
#  - writes nothing when the entry is already there;
#  - refuses a file it cannot parse, a non-object top level, a servers key
#    that is no object and numbers it could not keep exactly, leaving the
#    file byte-identical (cmp) with no backup or temp file beside it;
#  - keeps the file's mode, and edits a symlink's target, not the link.
. "$(dirname "$0")/../lib.sh"

write_config '{
  "default_profile": "work",
  "profiles": {
    "work": {"kind": "oauth", "server_url": "https://mimir.example.com/mcp",
             "issuer": "https://id.example.com", "client_id": "mimir-cli"},
    "key":  {"kind": "api-key", "server_url": "http://127.0.0.1:8080/mcp"}
  }
}'
H=$MM_BUILD/mimir-helper
mkdir "$MM_TMP/proj"
cd "$MM_TMP/proj"
mcfg() { "$H" mcp-config "$@"; }

# client KEY FILE: where each client keeps its servers
declare -A FILE=([claude-code]=$MM_TMP/proj/.mcp.json [vscode]=$MM_TMP/proj/.vscode/mcp.json
    [cursor]=$HOME/.cursor/mcp.json [windsurf]=$HOME/.codeium/windsurf/mcp_config.json
    [claude-desktop]=$XDG_CONFIG_HOME/Claude/claude_desktop_config.json)
declare -A KEY=([claude-code]=mcpServers [vscode]=servers [cursor]=mcpServers
    [windsurf]=mcpServers [claude-desktop]=mcpServers)

no_leftovers() { # DIR: no temp file of ours left behind
    local left
    left=$(find "$1" -maxdepth 1 -name '*.tmp-*' | head -3)
    [[ -z $left ]] || fail "temp files left in $1: $left"
}

for c in claude-code vscode cursor windsurf claude-desktop; do
    f=${FILE[$c]} k=${KEY[$c]}
    log "$c: a new file ($f), directories included"
    [[ ! -e $f ]] || fail "precondition: $f exists"
    assert_exit 0 mcfg "$c" --write
    assert_contains "$OUT" "Created $f with server \"mimir\""
    want=$(mcfg "$c" 2>/dev/null)
    assert_eq "$want" "$(cat "$f")" "$c: the new file is the printed snippet"
    [[ ! -e $f.mimir.bak ]] || fail "$c: a backup of a file that did not exist"

    log "$c: merged into a file with other servers and settings"
    other='{
  "theme": "dark",
  "'$k'": {
    "before": {"command": "/usr/bin/other", "args": ["--x"], "env": {"TOKEN": "s3cret"}},
    "mimir": {"command": "stale"},
    "after": {"type": "http", "url": "https://other.example/mcp", "headers": {"X-Y": "1"}}
  },
  "nested": {"list": [1, 2.5, -3e-7, true, null, "ü\u00e9\t"], "empty": {}, "none": []},
  "zlast": 42
}'
    printf '%s\n' "$other" >"$f"
    chmod 0640 "$f"
    cp "$f" "$MM_TMP/orig"
    assert_exit 0 mcfg "$c" --write
    assert_contains "$OUT" "Replaced server \"mimir\" in $f"
    assert_contains "$OUT" "The previous file is $f.mimir.bak"
    cmp "$MM_TMP/orig" "$f.mimir.bak" || fail "$c: the backup is not the previous file"
    entry=$(jq -c ".$k.mimir" <<<"$want")
    # Everything else is as it was, in the same order; only mimir changed.
    jq -e --argjson e "$entry" --slurpfile o "$MM_TMP/orig" \
        '. == ($o[0] | .["'"$k"'"].mimir = $e)' "$f" >/dev/null ||
        fail "$c: the merge changed more than its entry: $(cat "$f")"
    assert_eq "theme $k nested zlast" "$(jq -r 'keys_unsorted | join(" ")' "$f")" "$c: key order"
    assert_eq "before mimir after" "$(jq -r ".$k | keys_unsorted | join(\" \")" "$f")" "$c: server order"
    assert_eq 640 "$(stat -c %a "$f")" "$c: the file keeps its mode"
    no_leftovers "$(dirname "$f")"

    log "$c: already there: nothing written"
    cp "$f" "$MM_TMP/merged"
    touch -d '2001-01-01' "$f"
    assert_exit 0 mcfg "$c" --write
    assert_contains "$OUT" "$f already has this server \"mimir\"; nothing written"
    cmp "$MM_TMP/merged" "$f" || fail "$c: rewritten although nothing changed"
    assert_eq 2001 "$(date -r "$f" +%Y)" "$c: the file was touched"
done

f=${FILE[claude-code]}
refuse() { # WHAT NEEDLE: --write refuses $f as it is now and leaves it byte-identical
    log "refused: $1"
    cp "$f" "$MM_TMP/orig"
    rm -f "$f.mimir.bak"
    assert_exit 1 mcfg claude-code --write
    assert_contains "$ERR" "$2"
    assert_contains "$ERR" "left as it is"
    assert_eq "" "$OUT" "$1: nothing on stdout"
    [[ $ERR != *$'\n'* ]] || fail "$1: the message is not one line: $ERR"
    cmp "$MM_TMP/orig" "$f" || fail "$1: the file changed"
    [[ ! -e $f.mimir.bak ]] || fail "$1: a backup was written"
    no_leftovers "$MM_TMP/proj"
}
printf '{\n  "mcpServers": {\n    "a": {"command": "x",}\n  }\n}\n' >"$f"
refuse "invalid JSON" "line 3, column"
printf '{"mcpServers": {},}' >"$f"
refuse "a trailing comma" "trailing comma"
printf '{\n  // mine\n  "mcpServers": {}\n}' >"$f"
refuse "comments (JSONC)" "comments are not JSON"
printf '{"mcpServers": {"a": {"command": "x"' >"$f"
refuse "a truncated file" "not valid JSON"
printf '{"a": 1} {"b": 2}' >"$f"
refuse "two documents" "second document"
printf '{"mcpServers": {}}\0' >"$f"
refuse "a NUL byte" "NUL bytes"
printf '[{"mcpServers": {}}]' >"$f"
refuse "a top-level array" "top level is not a JSON object"
printf '{"mcpServers": ["mimir"]}' >"$f"
refuse "mcpServers not an object" '"mcpServers" is not an object'
printf '{"id": 12345678901234567890, "mcpServers": {}}' >"$f"
refuse "an integer beyond double precision" "number too large"

log "an empty file is an empty config"
: >"$f"
assert_exit 0 mcfg claude-code --write
assert_eq "" "$(cat "$f.mimir.bak")" "the backup of the empty file"
jq -e '.mcpServers.mimir.command' "$f" >/dev/null || fail "no entry written into the empty file"

log "a symlinked file: the target is edited, the link stays"
mkdir "$MM_TMP/dotfiles"
printf '{"mcpServers": {"other": {"command": "o"}}}\n' >"$MM_TMP/dotfiles/mcp.json"
rm -f "$f" "$f.mimir.bak"
ln -s "$MM_TMP/dotfiles/mcp.json" "$f"
assert_exit 0 mcfg claude-code --write
assert_contains "$OUT" "Added server \"mimir\" to $MM_TMP/dotfiles/mcp.json"
[[ -L $f ]] || fail "the symlink was replaced by a file"
assert_eq "o" "$(jq -r '.mcpServers.other.command' "$f")"
jq -e '.mcpServers.mimir' "$f" >/dev/null || fail "no entry in the symlink's target"
[[ -f $MM_TMP/dotfiles/mcp.json.mimir.bak ]] || fail "the backup is not next to the target"
rm -f "$f"
ln -s "$MM_TMP/nowhere.json" "$f"
assert_exit 1 mcfg claude-code --write
assert_contains "$ERR" "symlink that leads nowhere"
rm -f "$f"

log "--name and --profile choose the entry; other entries stay"
assert_exit 0 mcfg claude-code --write --name mimir-key --profile key
assert_exit 0 mcfg --profile work --write claude-code
jq -e '.mcpServers["mimir-key"].headersHelper and .mcpServers.mimir.args' "$f" >/dev/null ||
    fail "both entries expected: $(cat "$f")"

log "a directory that cannot be written: a clear refusal"
mkdir "$MM_TMP/ro"
printf '{}\n' >"$MM_TMP/ro/.mcp.json"
chmod 0555 "$MM_TMP/ro"
if [[ -w $MM_TMP/ro ]]; then
    log "  (running as root: permission bits do not stop us; part skipped)"
else
    (cd "$MM_TMP/ro" && assert_exit 1 mcfg claude-code --write && assert_contains "$ERR" "cannot")
    assert_eq "{}" "$(cat "$MM_TMP/ro/.mcp.json")"
fi
chmod 0755 "$MM_TMP/ro"
log "ok"
