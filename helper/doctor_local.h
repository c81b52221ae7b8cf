/*
 * doctor_local.h - the checks of `mimir-helper doctor` that need nothing but
 * this machine: the config file (its permissions before the agent refuses
 * it, then its contents), the agent socket's directory (the trust rules of
 * mimir/trust.h) and the browser opener.
 */
#ifndef MM_DOCTOR_LOCAL_H
#define MM_DOCTOR_LOCAL_H

#include "doctor.h"

/* Loads d->cfg when the file is valid. */
void mm_dr_config(mm_doctor *d);
void mm_dr_socket_dir(mm_doctor *d);
void mm_dr_browser(mm_doctor *d);

#endif
