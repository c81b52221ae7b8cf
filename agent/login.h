/*
 * login.h - interactive login (authorization code + PKCE through the
 * browser, or the device grant), logout with revocation, and refresh.
 */
#ifndef MM_LOGIN_H
#define MM_LOGIN_H

#include "agent.h"

void mm_login_op(mm_profile *p, mm_conn *c, mm_request *req);
/* The state to return to if the running login fails. */
void mm_login_set_prev_state(mm_profile *p, mm_pstate s);
void mm_login_wait_op(mm_profile *p, mm_conn *c, mm_request *req);

struct mm_flow;
/* Take the access token, expiry, subject and scope of a token response. */
void mm_login_adopt_tokens(mm_profile *p, struct mm_flow *f);

/* Wipe memory, revoke (oauth, best effort), erase the keyring item, then
 * call done on the loop thread. */
void mm_logout_start(mm_profile *p, mm_store_done done, void *arg);
/* Add the revoke outcome of the last logout to a reply. */
void mm_logout_annotate(mm_profile *p, cJSON *reply);

#endif
