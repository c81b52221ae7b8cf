/* profiles.c - the set of profiles and config reloads (see profiles.h). */
#include <string.h>

#include "login.h"
#include "profiles.h"
#include "refresh.h"

/* Take the profile named like pc with the same identity out of *list. */
static mm_profile *take_same(mm_profile **list, const mm_profile_cfg *pc)
{
    for (mm_profile **pp = list; *pp; pp = &(*pp)->next)
        if (!strcmp((*pp)->cfg->name, pc->name) && mm_profile_same_identity((*pp)->cfg, pc)) {
            mm_profile *p = *pp;
            *pp = p->next;
            return p;
        }
    return NULL;
}

static void retire(mm_profile *p)
{
    mm_login_cancel(p);
    mm_profile_retire(p);
}

static const mm_store_backend backends[] = {[MM_STORE_PREF_AUTO] = MM_STORE_AUTO,
                                            [MM_STORE_PREF_KEYRING] = MM_STORE_KEYRING,
                                            [MM_STORE_PREF_FILE] = MM_STORE_FILE};

mm_err mm_profiles_load(mm_agent *a, char *why, size_t whylen)
{
    mm_config cfg;
    mm_err e = mm_config_load(a->config_path, &cfg, why, whylen);
    if (e != MM_OK)
        return e;
    mm_store_configure(backends[cfg.store], a->vault_path);
    mm_profile *list = NULL, **tail = &list;
    for (size_t i = 0; i < cfg.nprofiles && e == MM_OK; i++) {
        const mm_profile_cfg *pc = &cfg.profiles[i];
        mm_profile *p = take_same(&a->profiles, pc); /* unchanged: keep tokens and state */
        if (p)
            mm_profile_set_cfg(p, pc);
        else if (!(p = mm_profile_new(a, pc)))
            e = MM_ERR_NOMEM;
        if (p) {
            p->next = NULL;
            *tail = p;
            tail = &p->next;
        }
    }
    while (a->profiles) { /* whatever is left was removed or changed */
        mm_profile *p = a->profiles;
        a->profiles = p->next;
        retire(p);
    }
    a->profiles = list;
    mm_config_free(&a->cfg);
    a->cfg = cfg;
    return e;
}

mm_profile *mm_profiles_find(mm_agent *a, const char *name)
{
    if (!name)
        name = a->cfg.default_profile;
    for (mm_profile *p = a->profiles; name && p; p = p->next)
        if (!strcmp(p->cfg->name, name))
            return p;
    return NULL;
}

int mm_profiles_busy(const mm_agent *a)
{
    for (const mm_profile *p = a->profiles; p; p = p->next)
        if (mm_refresh_busy(p))
            return 1;
    return 0;
}

void mm_profiles_vault_changed(mm_agent *a, int unlocked)
{
    for (mm_profile *p = a->profiles; p; p = p->next) {
        if (unlocked) {
            mm_profile_reload(p);
        } else {
            mm_login_cancel(p);
            mm_profile_locked(p, "the credential vault is locked; run 'mimir-helper unlock'");
        }
    }
}

void mm_profiles_free(mm_agent *a)
{
    while (a->profiles) {
        mm_profile *p = a->profiles;
        a->profiles = p->next;
        mm_login_cancel(p);
        mm_profile_wake(p, MM_ERR_INTERNAL, "mimir-agent is stopping");
        retire(p);
    }
    mm_config_free(&a->cfg);
}
