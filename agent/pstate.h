/*
 * pstate.h - the states of a profile (the table that says what moves a
 * profile from one to the next is in docs/architecture.md).  A leaf header
 * of its own so that the pure policy code can name states without knowing
 * what a profile is.
 */
#ifndef MM_PSTATE_H
#define MM_PSTATE_H

typedef enum {
    MM_PS_LOADING,        /* keyring read in flight */
    MM_PS_READY,          /* a credential is present */
    MM_PS_REFRESHING,     /* refresh grant in flight (the single-flight lock) */
    MM_PS_RETRYING,       /* refresh failed; a retry is scheduled */
    MM_PS_LOGIN_REQUIRED, /* nothing usable: log in (or set an API key) */
    MM_PS_LOGGING_IN,     /* a login is running */
    MM_PS_STORE_ERROR,    /* the keyring could not be read */
} mm_pstate;

#endif
