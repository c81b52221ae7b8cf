# shellcheck shell=bash
# tests/lib_doctor.sh - running `mimir-helper doctor` and reading its report,
# for tests/integration/test_doctor_*.sh.  Sourced after lib.sh.
#
#   doctor ARGS...        mimir-helper doctor ARGS (autostart on, as users run it);
#                         stdout in $OUT, stderr in $ERR, exit status in $RC
#                         ($DOCTOR_ENV: extra `env` arguments, e.g. PATH=/x)
#   line MARK CHECK [PROFILE]  the report line of CHECK (fails unless it is there
#                         and starts with MARK: ✓, ✗ or -)
#   broken CHECK [PROFILE]  doctor exited 1, CHECK's line is ✗ and a "fix:" line
#                         follows it; logs both

DOCTOR_ENV=()
doctor() {
    RC=0
    env -u MIMIR_NO_AUTOSTART ${DOCTOR_ENV[@]+"${DOCTOR_ENV[@]}"} "$MM_BUILD/mimir-helper" doctor "$@" \
        >"$MM_TMP/doc.out" 2>"$MM_TMP/doc.err" || RC=$?
    OUT=$(cat "$MM_TMP/doc.out")
    ERR=$(cat "$MM_TMP/doc.err")
}

line() {
    local l
    l=$(grep -E "^. $2${3:+ \($3\)}: " <<<"$OUT" | head -n1)
    [[ -n $l ]] || fail "doctor printed no line for '$2${3:+ ($3)}':"$'\n'"$OUT"
    [[ $l == "$1 "* ]] || fail "doctor's '$2' line is not $1:"$'\n'"$OUT"
    echo "$l"
}

broken() {
    ((RC == 1)) || fail "doctor exited $RC with '$1' broken:"$'\n'"$OUT"$'\n'"$ERR"
    local l fix
    l=$(line ✗ "$@")
    fix=$(grep -A1 -F -- "$l" <<<"$OUT" | tail -n1)
    [[ $fix == "    fix: "* ]] || fail "no fix after: $l"
    log "shown: $l"
    log "       ${fix#    }"
}
