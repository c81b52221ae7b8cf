/*
 * refresh.h - renewing a profile's access token with its refresh token:
 * single flight, proactive, rotation-safe, spaced, bounded.
 */
#ifndef MM_REFRESH_H
#define MM_REFRESH_H

#include "profile.h"

/* Start a refresh (the agent's renew_due hook, and token requests that
 * need one).  While it runs the profile is "refreshing" and every token
 * request that needs the result waits for it: any number of callers cause
 * one call to the IdP.  Attempts are spaced (policy.h); one that is asked
 * for too soon starts when the spacing allows.  Parked requests are woken
 * with the outcome.  Does nothing while a refresh runs. */
void mm_refresh_start(mm_profile *p);

/* The wall clock may jump (suspend, NTP): start any refresh whose time has
 * passed without its timer firing.  Called periodically. */
void mm_refresh_check_all(mm_agent *a);

/* 1 while a refresh or the keyring write of a rotated token is in flight:
 * stopping now could lose the login. */
int mm_refresh_busy(const mm_profile *p);

#endif
