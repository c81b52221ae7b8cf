/* login.c - placeholder until the OAuth flows land. */
#include "login.h"

void mm_login_op(mm_profile *p, mm_conn *c, mm_request *req)
{
    (void)p;
    mm_conn_send(c, mm_proto_reply_err(req->id, MM_ERR_INTERNAL, "login not implemented"));
}

void mm_login_wait_op(mm_profile *p, mm_conn *c, mm_request *req) { mm_login_op(p, c, req); }
void mm_login_cancel(mm_profile *p) { (void)p; }
void mm_refresh_start(mm_profile *p) { mm_profile_wake(p, MM_ERR_LOGIN_REQUIRED, "no refresh"); }
void mm_refresh_schedule(mm_profile *p) { (void)p; }

void mm_logout_start(mm_profile *p, mm_store_done done, void *arg)
{
    mm_profile_forget(p);
    mm_store_submit_erase(p, done, arg);
}

void mm_logout_annotate(mm_profile *p, cJSON *reply)
{
    (void)p;
    cJSON_AddBoolToObject(reply, "revoked", 0);
}
