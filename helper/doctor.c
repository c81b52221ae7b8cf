/* doctor.c - the report of `mimir-helper doctor` (see doctor.h). */
#include <stdarg.h>
#include <stdio.h>

#include "doctor.h"
#include "pretty.h"

static const char *const marks[] = {[MM_DR_PASS] = "\u2713", [MM_DR_FAIL] = "\u2717",
                                    [MM_DR_SKIP] = "-"};
static const char *const names[] = {[MM_DR_PASS] = "pass", [MM_DR_FAIL] = "fail",
                                    [MM_DR_SKIP] = "skip"};

void mm_dr_report(mm_doctor *d, mm_dr_status st, const char *check, const char *fix,
                  const char *fmt, ...)
{
    char msg[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    if (st == MM_DR_FAIL)
        d->failed++;
    cJSON *c = cJSON_CreateObject();
    cJSON_AddStringToObject(c, "check", check);
    if (d->profile)
        cJSON_AddStringToObject(c, "profile", d->profile);
    cJSON_AddStringToObject(c, "status", names[st]);
    cJSON_AddStringToObject(c, "message", msg);
    if (fix && st == MM_DR_FAIL)
        cJSON_AddStringToObject(c, "fix", fix);
    cJSON_AddItemToArray(d->checks, c);
    if (d->json)
        return;
    /* Printed as it happens: a slow network check shows what came before. */
    if (d->profile)
        printf("%s %s (%s): %s\n", marks[st], check, d->profile, msg);
    else
        printf("%s %s: %s\n", marks[st], check, msg);
    if (fix && st == MM_DR_FAIL)
        printf("    fix: %s\n", fix);
    fflush(stdout);
}

void mm_dr_print_json(const mm_doctor *d)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddBoolToObject(doc, "ok", d->failed == 0);
    cJSON_AddNumberToObject(doc, "failed", d->failed);
    cJSON_AddItemReferenceToObject(doc, "checks", d->checks);
    mm_pretty_print(stdout, doc);
    cJSON_Delete(doc);
}
