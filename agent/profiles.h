/*
 * profiles.h - the agent's set of profiles: built from the config file,
 * rebuilt on reload keeping the state (and tokens) of every profile whose
 * identity did not change, looked up by name.
 */
#ifndef MM_PROFILES_H
#define MM_PROFILES_H

#include <stddef.h>

#include "profile.h"

/* (Re)read the config.  On error the previous profiles and config stay and
 * why names the file, key and problem. */
mm_err mm_profiles_load(mm_agent *a, char *why, size_t whylen);
/* NULL name: the default profile.  NULL when there is no such profile. */
mm_profile *mm_profiles_find(mm_agent *a, const char *name);
/* 1 while any profile has a refresh or a keyring write in flight. */
int mm_profiles_busy(const mm_agent *a);
/* The vault was unlocked (read every credential again) or locked (forget
 * them: a locked vault serves nothing). */
void mm_profiles_vault_changed(mm_agent *a, int unlocked);
/* At exit: cancel logins, answer everyone still waiting, drop every profile. */
void mm_profiles_free(mm_agent *a);

#endif
