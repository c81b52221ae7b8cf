/* doctor_agent.c - agent, store, credentials (see doctor_agent.h). */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "doctor_agent.h"
#include "mimir/client.h"
#include "mimir/paths.h"
#include "mimir/version.h"

#define RESTART_FIX "restart the agent: 'systemctl --user restart mimir-agent' under systemd, " \
                    "else stop it (kill %s) and any mimir-helper command starts this one"

/* One request on an open client; the reply's root (free it), or NULL. */
static cJSON *ask(mm_client *cl, mm_op op)
{
    mm_response r;
    if (mm_client_call(cl, mm_proto_request(op, 0, NULL), &r) != MM_OK)
        return NULL;
    if (!r.ok) {
        mm_response_free(&r);
        return NULL;
    }
    return r.root;
}

static void check_versions(mm_doctor *d, const cJSON *hello, const char *sock)
{
    const char *v = mm_json_str(hello, "version");
    double pid = 0;
    char fix[300], spid[32];
    mm_json_num(hello, "pid", &pid);
    snprintf(spid, sizeof(spid), "%.0f", pid);
    if (v && !strcmp(v, MIMIR_VERSION)) {
        mm_dr_report(d, MM_DR_PASS, "agent", NULL, "mimir-agent %s (pid %s) on %s", v, spid, sock);
        return;
    }
    snprintf(fix, sizeof(fix), RESTART_FIX, spid);
    mm_dr_report(d, MM_DR_FAIL, "agent", fix, "mimir-agent %s (pid %s) on %s is not this "
                 "helper's version (%s)", v ? v : "(unknown)", spid, sock, MIMIR_VERSION);
}

/* The agent must read the file this helper (and so doctor) reads. */
static void check_same_config(mm_doctor *d)
{
    const char *theirs = mm_json_str(d->status, "config");
    char ours[4096];
    if (!theirs || mm_config_path(ours, sizeof(ours)) != MM_OK || !strcmp(theirs, ours))
        return;
    mm_dr_report(d, MM_DR_FAIL, "agent config", "give both the same MIMIR_CONFIG (or none), then "
                 "'mimir-helper reload' or restart the agent", "the agent reads %s, but this "
                 "helper reads %s", theirs, ours);
}

void mm_dr_agent(mm_doctor *d)
{
    mm_client cl;
    mm_err e = mm_client_open(&cl, d->timeout_s * 1000, 1);
    if (e != MM_OK) {
        mm_dr_report(d, MM_DR_FAIL, "agent", "run 'mimir-agent --foreground' to see why it does "
                     "not start, or 'systemctl --user status mimir-agent'", "%s", cl.why);
        return;
    }
    cJSON *hello = ask(&cl, MM_OP_HELLO);
    d->status = hello ? ask(&cl, MM_OP_STATUS) : NULL;
    if (!hello || !d->status)
        mm_dr_report(d, MM_DR_FAIL, "agent", "restart the agent", "the agent on %s does not "
                     "answer hello and status: %s", cl.path, cl.why[0] ? cl.why : "no reply");
    else
        check_versions(d, hello, cl.path);
    cJSON_Delete(hello);
    mm_client_close(&cl);
    if (d->status)
        check_same_config(d);
}

const cJSON *mm_dr_profile_status(const mm_doctor *d, const char *name)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(d->status, "profiles"))
    {
        const char *n = mm_json_str(p, "name");
        if (n && !strcmp(n, name))
            return p;
    }
    return NULL;
}

static void store_keyring(mm_doctor *d)
{
    const cJSON *p;
    cJSON_ArrayForEach(p, cJSON_GetObjectItemCaseSensitive(d->status, "profiles"))
    {
        const char *st = mm_json_str(p, "storage");
        const cJSON *le = cJSON_GetObjectItemCaseSensitive(p, "last_error");
        const char *msg = le ? mm_json_str(le, "message") : NULL;
        if (st && !strcmp(st, "unavailable")) {
            mm_dr_report(d, MM_DR_FAIL, "store", "start a keyring in this session (for example "
                         "gnome-keyring), or use the encrypted file: \"store\": \"file\" in the "
                         "config, then 'mimir-helper unlock'",
                         "no Secret Service (keyring) is reachable from the agent");
            return;
        }
        if (st && !strcmp(st, "error")) {
            mm_dr_report(d, MM_DR_FAIL, "store", "unlock the keyring (your desktop's keyring "
                         "prompt), then 'mimir-helper reload'", "the keyring refused the agent "
                         "(profile %s): %s", mm_json_str(p, "name"), msg ? msg : "error");
            return;
        }
    }
    if (!cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(d->status, "profiles")))
        mm_dr_report(d, MM_DR_SKIP, "store", NULL, "keyring not checked: the agent has no "
                     "profile to store anything for");
    else
        mm_dr_report(d, MM_DR_PASS, "store", NULL, "keyring (Secret Service) reachable");
}

void mm_dr_store(mm_doctor *d)
{
    if (!d->status) {
        mm_dr_report(d, MM_DR_SKIP, "store", NULL, "not checked: no agent");
        return;
    }
    const char *store = mm_json_str(d->status, "store"), *vault = mm_json_str(d->status, "vault");
    char path[4096] = "the vault";
    mm_vault_path(path, sizeof(path));
    if (!store || strcmp(store, "file") != 0)
        store_keyring(d);
    else if (vault && !strcmp(vault, "unlocked"))
        mm_dr_report(d, MM_DR_PASS, "store", NULL, "encrypted vault %s, unlocked", path);
    else if (vault && !strcmp(vault, "locked"))
        mm_dr_report(d, MM_DR_FAIL, "store", "mimir-helper unlock", "the encrypted vault %s is "
                     "locked: no credential can be read until it is unlocked", path);
    else
        mm_dr_report(d, MM_DR_FAIL, "store", "mimir-helper unlock (asks for a new passphrase "
                     "twice and creates it)", "no encrypted vault yet (%s)", path);
}

/* "in 42 min", "2 h ago" */
static void relative(double at, char *buf, size_t len)
{
    double s = at - (double)time(NULL);
    double a = s < 0 ? -s : s;
    const char *unit = a < 120 ? "s" : a < 7200 ? "min" : "h";
    double v = a < 120 ? a : a < 7200 ? a / 60 : a / 3600;
    snprintf(buf, len, s >= 0 ? "in %.0f %s" : "%.0f %s ago", v, unit);
}

static void credential_ready(mm_doctor *d, const cJSON *ps, const char *kind)
{
    const char *sub = mm_json_str(ps, "subject");
    double exp;
    char when[64] = "";
    if (!strcmp(kind, "api-key")) {
        mm_dr_report(d, MM_DR_PASS, "credential", NULL, "API key stored");
        return;
    }
    if (mm_json_num(ps, "access_expires_at", &exp) && exp > 0)
        relative(exp, when, sizeof(when));
    mm_dr_report(d, MM_DR_PASS, "credential", NULL, "signed in%s%s; access token %s%s%s",
                 sub ? " as " : "", sub ? sub : "", *when ? "expires " : "not fetched yet",
                 when, *when && exp < (double)time(NULL) ? " (renewed when next asked for)" : "");
}

int mm_dr_credential(mm_doctor *d, const cJSON *ps)
{
    const char *kind = mm_json_str(ps, "kind"), *st = mm_json_str(ps, "state");
    const char *name = mm_json_str(ps, "name");
    const cJSON *le = cJSON_GetObjectItemCaseSensitive(ps, "last_error");
    const char *msg = le ? mm_json_str(le, "message") : NULL;
    char fix[300];
    if (!kind || !st || !name)
        return mm_dr_report(d, MM_DR_FAIL, "credential", "restart the agent",
                            "the agent's status lacks kind or state"), 0;
    if (!strcmp(kind, "none"))
        return mm_dr_report(d, MM_DR_PASS, "credential", NULL, "none needed (security off)"), 1;
    if (!strcmp(st, "ready") || !strcmp(st, "refreshing")) {
        credential_ready(d, ps, kind);
        return 1;
    }
    if (!strcmp(st, "login_required")) {
        snprintf(fix, sizeof(fix), "mimir-helper %s --profile %s",
                 strcmp(kind, "api-key") ? "login" : "set-api-key < KEYFILE", name);
        return mm_dr_report(d, MM_DR_FAIL, "credential", fix, "%s",
                            msg ? msg : "no credential: login required"), 0;
    }
    if (!strcmp(st, "retrying"))
        return mm_dr_report(d, MM_DR_FAIL, "credential", "see the identity provider checks "
                            "below; the agent retries on its own", "refreshing fails: %s",
                            msg ? msg : "(no message)"), 1;
    if (!strcmp(st, "storage_error"))
        return mm_dr_report(d, MM_DR_FAIL, "credential", "see the store check above",
                            "cannot be read from the store: %s", msg ? msg : "error"), 0;
    mm_dr_report(d, MM_DR_PASS, "credential", NULL, "state %s", st);
    return 1;
}
