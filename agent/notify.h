/*
 * notify.h - desktop notifications (org.freedesktop.Notifications).
 *
 * Used when a profile needs the user: its refresh token was rejected and
 * only a new login helps.  Sent from a worker job (a D-Bus round trip) and
 * silently skipped when no session bus or notification daemon exists.
 * The text names the profile and what to do, never a credential.
 */
#ifndef MM_NOTIFY_H
#define MM_NOTIFY_H

#include "worker.h"

void mm_notify(mm_worker *w, const char *summary, const char *body);

#endif
