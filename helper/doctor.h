/*
 * doctor.h - what `mimir-helper doctor` checks share: the report (one line
 * per check, ✓ or ✗ with the fix; or JSON for scripts) and what earlier
 * checks learnt (the config, the agent's status) for the later ones.
 */
#ifndef MM_DOCTOR_H
#define MM_DOCTOR_H

#include <limits.h>

#include <cjson/cJSON.h>

#include "mimir/config.h"

typedef enum {
    MM_DR_PASS, /* ✓ */
    MM_DR_FAIL, /* ✗: doctor exits 1 */
    MM_DR_SKIP, /* -: not checked or nothing to check; does not fail */
} mm_dr_status;

typedef struct {
    int json;            /* print JSON at the end instead of lines */
    int timeout_s;       /* each network check's deadline */
    const char *only;    /* --profile: check this profile only */
    const char *profile; /* the profile the next reports are about, or NULL */
    cJSON *checks;       /* every report, for --json */
    int failed;
    int have_cfg;        /* cfg loaded */
    mm_config cfg;
    cJSON *status;       /* the agent's status reply, NULL when unreachable */
    char self[PATH_MAX]; /* this helper's own path */
} mm_doctor;

/* One check's outcome; fix (NULL when there is none) says what to do. */
void mm_dr_report(mm_doctor *d, mm_dr_status st, const char *check, const char *fix,
                  const char *fmt, ...) __attribute__((format(printf, 5, 6)));

/* The JSON document (--json), once every check has reported. */
void mm_dr_print_json(const mm_doctor *d);

#endif
