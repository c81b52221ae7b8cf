/* logout.c - revoke, erase, wipe (see logout.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "logout.h"

typedef struct {
    mm_logout_done done;
    void *arg;
    mm_logout_result r;
} logout_ctx;

static void erased(mm_profile *p, mm_err e, const char *why, const mm_secret *doc, void *arg)
{
    (void)doc;
    logout_ctx *x = arg;
    x->r.erased = e == MM_OK;
    if (!mm_profile_retired(p)) {
        p->last_err = MM_OK;
        mm_profile_set_state(p, MM_PS_LOGIN_REQUIRED, MM_OK, NULL);
        mm_profile_wake(p, MM_OK, NULL); /* whoever waited now hears "log in" */
    }
    x->done(p, e, why, &x->r, x->arg);
    free(x);
}

static void revoked(mm_flow *f)
{
    logout_ctx *x = f->arg;
    mm_profile *p = f->owner;
    x->r.revoked = f->err == MM_OK;
    if (f->err != MM_OK) {
        x->r.revoke_err = f->err;
        snprintf(x->r.revoke_msg, sizeof(x->r.revoke_msg), "%s", f->why);
        mm_warn("profile %s: revocation failed: %s", p->key.profile, f->why);
    }
    mm_profile_store(p, MM_STORE_ERASE, NULL, erased, x);
}

void mm_logout_start(mm_profile *p, mm_logout_done done, void *arg)
{
    logout_ctx *x = calloc(1, sizeof(*x));
    if (!x) {
        done(p, MM_ERR_NOMEM, "out of memory", NULL, arg);
        return;
    }
    x->done = done;
    x->arg = arg;
    mm_secret *rt = p->cfg->kind == MM_KIND_OAUTH ? p->cred : NULL;
    if (rt)
        p->cred = NULL; /* moves into the revoke flow */
    mm_profile_forget(p);
    mm_flow *f = rt ? mm_profile_flow(p, MM_FLOW_REVOKE, revoked, x) : NULL;
    if (!f) {
        mm_secret_free(rt);
        mm_profile_store(p, MM_STORE_ERASE, NULL, erased, x);
        return;
    }
    f->secret = rt;
    mm_flow_submit(f);
}
