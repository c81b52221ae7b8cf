/*
 * logout.h - signing out: wipe the credentials from memory at once, revoke
 * the refresh token at the IdP (RFC 7009, best effort: logging out must
 * work offline), erase the keyring item.
 */
#ifndef MM_LOGOUT_H
#define MM_LOGOUT_H

#include "profile.h"

typedef struct {
    int erased;          /* the keyring item is gone */
    int revoked;         /* the IdP confirmed the revocation */
    mm_err revoke_err;   /* why it did not (MM_OK when not attempted) */
    char revoke_msg[256];
} mm_logout_result;

/* done runs on the loop thread, once; e/why say whether the erase worked. */
typedef void (*mm_logout_done)(mm_profile *p, mm_err e, const char *why,
                               const mm_logout_result *r, void *arg);

/* The caller cancels a running login first. */
void mm_logout_start(mm_profile *p, mm_logout_done done, void *arg);

#endif
