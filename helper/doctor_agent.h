/*
 * doctor_agent.h - the checks of `mimir-helper doctor` that ask the agent:
 * reachable (started when needed, as every command does) and of this
 * version, reading the same config file, its store (keyring reachable, or
 * the vault unlocked) and each profile's credential.
 */
#ifndef MM_DOCTOR_AGENT_H
#define MM_DOCTOR_AGENT_H

#include "doctor.h"

/* Sets d->status when the agent answers. */
void mm_dr_agent(mm_doctor *d);
void mm_dr_store(mm_doctor *d);

/* The agent's status object of profile name, or NULL. */
const cJSON *mm_dr_profile_status(const mm_doctor *d, const char *name);

/* The credential of profile ps (from mm_dr_profile_status); 1 when the
 * profile has one to use (or needs none). */
int mm_dr_credential(mm_doctor *d, const cJSON *ps);

#endif
