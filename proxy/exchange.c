/* exchange.c - one request to the MCP server with a fresh credential (see exchange.h). */
#include <ctype.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#include "answer.h"
#include "exchange.h"
#include "log.h"
#include "mimir/version.h"
#include "secret.h"

#define MAX_HEADERS 16
#define ERRBODY_MAX 1024
#define MAX_RESUMES 3
/* After the response, a server should end the stream; one that does not
 * is left this long (it would hold the request open until its deadline). */
#define ANSWERED_GRACE_MS 5000

enum { M_NONE, M_ANSWER, M_ERRBODY, M_IGNORE };

struct mm_exchange {
    mm_ctx *ctx;
    mm_exchange_req rq;
    mm_jscan_val id;
    char *resume_from;    /* the caller's last_event_id, copied */
    mm_exchange_cbs cbs;
    void *arg;
    mm_agentreq *areq;
    mm_secret *cred;      /* what the current attempt sent, for "rejected" */
    int refused;          /* the current attempt got 401: ask again */
    int retried;          /* ... and that was done already */
    int sent_session;     /* the current attempt carried Mcp-Session-Id */
    int resuming;         /* the current attempt is a GET resuming the answer */
    int resumes;
    mm_http_xfer *x;
    int mode;
    mm_answer ans;
    char errbody[ERRBODY_MAX + 1];
    size_t errlen;
    mm_out_waiter waiter;
    uint64_t timer;
    mm_ex_outcome oc;
};

/* ---- the end -------------------------------------------------------------------------- */

static void finish(mm_exchange *ex)
{
    mm_secret_clear(&ex->cred);
    mm_answer_end(&ex->ans, 0);
    ex->oc.answered = ex->ans.answered;
    ex->oc.messages = ex->ans.messages;
    snprintf(ex->oc.last_event_id, sizeof(ex->oc.last_event_id), "%s", ex->ans.last_event_id);
    ex->oc.retry_ms = ex->ans.retry_ms;
    ex->cbs.done(ex->arg, ex);
}

static void finish_with(mm_exchange *ex, mm_ex_result r, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void finish_with(mm_exchange *ex, mm_ex_result r, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(ex->oc.why, sizeof(ex->oc.why), fmt, ap);
    va_end(ap);
    ex->oc.result = r;
    finish(ex);
}

static void finish_later_cb(mm_loop *loop, void *data)
{
    (void)loop;
    mm_exchange *ex = data;
    ex->timer = 0;
    finish(ex);
}

/* Failures found while starting are told from the loop, like all others. */
static void fail_soon(mm_exchange *ex, const char *why)
{
    ex->oc.result = MM_EX_FAILED;
    snprintf(ex->oc.why, sizeof(ex->oc.why), "%s", why);
    ex->timer = mm_loop_add_timer(ex->ctx->loop, 0, finish_later_cb, ex);
}

/* ---- headers ---------------------------------------------------------------------------- */

static int token_char(int c) { return isalnum(c) || strchr("!#$%&'*+-.^_`|~", c); }

static char *header(const char *name, const char *value)
{
    size_t n = strlen(name) + strlen(value) + 3;
    char *h = malloc(n);
    if (h)
        snprintf(h, n, "%s: %s", name, value);
    return h;
}

/* The agent's headers, checked: a name that is a token, a value without
 * line breaks.  The first one's value (after "Bearer ") is the credential
 * a 401 will name. */
static int credential_headers(mm_exchange *ex, const cJSON *hs, char **h, int *n)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, hs)
    {
        const char *k = it->string, *v = cJSON_GetStringValue(it);
        size_t i;
        for (i = 0; k[i] && token_char((unsigned char)k[i]); i++)
            ;
        if (!v || !k[0] || k[i] || strpbrk(v, "\r\n") || *n == MAX_HEADERS - 8)
            return -1;
        if (!(h[(*n)++] = header(k, v)))
            return -1;
        if (!ex->cred) {
            const char *c = strncasecmp(v, "Bearer ", 7) ? v : v + 7;
            ex->cred = mm_secret_from_str(c);
        }
    }
    return 0;
}

static int request_headers(mm_exchange *ex, const cJSON *creds, char **h)
{
    mm_ctx *ctx = ex->ctx;
    const char *m = ex->resuming ? "GET" : ex->rq.method;
    int n = 0;
    if (credential_headers(ex, creds, h, &n) < 0)
        return -1;
    h[n++] = header("User-Agent", "mimir-proxy/" MIMIR_VERSION);
    if (!strcmp(m, "POST")) {
        h[n++] = header("Content-Type", "application/json");
        h[n++] = header("Accept", "application/json, text/event-stream");
    } else if (!strcmp(m, "GET")) {
        h[n++] = header("Accept", "text/event-stream");
    }
    ex->sent_session = ex->rq.with_session && ctx->session_id != NULL;
    if (ex->sent_session)
        h[n++] = header("Mcp-Session-Id", ctx->session_id);
    if (ex->rq.with_session && ctx->protocol_version)
        h[n++] = header("MCP-Protocol-Version", ctx->protocol_version);
    const char *last = ex->resuming ? ex->ans.last_event_id : ex->resume_from;
    if (!strcmp(m, "GET") && last && last[0])
        h[n++] = header("Last-Event-ID", last);
    for (int i = 0; i < n; i++)
        if (!h[i])
            return -1;
    return n;
}

static void free_headers(char **h)
{
    for (int i = 0; i < MAX_HEADERS; i++)
        if (h[i]) {
            sodium_memzero(h[i], strlen(h[i])); /* credentials */
            free(h[i]);
        }
}

/* ---- the transfer ------------------------------------------------------------------------- */

static int on_head(void *arg, mm_http_xfer *x, long status);
static int on_data(void *arg, const char *p, size_t n);
static void on_done(void *arg, mm_err e, const char *why);

static void send_request(mm_exchange *ex, const cJSON *creds)
{
    static const mm_http_stream_cbs cbs = {on_head, on_data, on_done};
    char *h[MAX_HEADERS + 1] = {0};
    mm_secret_clear(&ex->cred);
    if (request_headers(ex, creds, h) < 0) {
        free_headers(h);
        finish_with(ex, MM_EX_AUTH, "mimir-agent sent headers that cannot be used");
        return;
    }
    int get = ex->resuming || !strcmp(ex->rq.method, "GET");
    mm_http_stream_req hr = {
        .method = ex->resuming ? "GET" : ex->rq.method,
        .url = ex->ctx->url,
        .headers = (const char *const *)h,
        .body = get ? NULL : ex->rq.body,
        .body_len = get ? 0 : ex->rq.len,
        .ca_file = ex->ctx->ca_file,
        .timeout_ms = ex->rq.timeout_ms,
        .idle_s = ex->rq.idle_s,
    };
    ex->mode = M_NONE;
    ex->errlen = 0;
    ex->x = mm_http_stream(ex->ctx->http, &hr, &cbs, ex);
    free_headers(h); /* copied by the transfer */
    if (!ex->x)
        finish_with(ex, MM_EX_FAILED, "out of memory");
}

static void on_credential(void *arg, mm_err e, const cJSON *reply, const char *message)
{
    mm_exchange *ex = arg;
    ex->areq = NULL;
    const cJSON *hs = reply ? cJSON_GetObjectItemCaseSensitive(reply, "headers") : NULL;
    if (e == MM_OK && !cJSON_IsObject(hs)) {
        e = MM_ERR_INTERNAL;
        message = "mimir-agent sent a reply without headers";
    }
    if (e != MM_OK) {
        ex->oc.err = e;
        /* Whatever the agent said, the client's user must learn the way out. */
        int hint = e == MM_ERR_LOGIN_REQUIRED && !strstr(message, "mimir-helper login");
        finish_with(ex, MM_EX_AUTH, "%s%s%s%s", message, hint ? "; run 'mimir-helper login "
                    "--profile " : "", hint ? ex->ctx->profile : "", hint ? "'" : "");
        return;
    }
    send_request(ex, hs);
}

static void ask_agent(mm_exchange *ex, const char *rejected)
{
    ex->areq = mm_agentconn_headers(ex->ctx->agent, rejected, on_credential, ex);
    if (!ex->areq)
        fail_soon(ex, "out of memory");
}

void mm_exchange_start(mm_exchange *ex) { ask_agent(ex, NULL); }

/* ---- the answer's head --------------------------------------------------------------------- */

static int session_id_ok(const char *s)
{
    for (const char *p = s; *p; p++)
        if (*p < 0x21 || *p > 0x7e)
            return 0;
    return s[0] != '\0';
}

static void take_session_id(mm_exchange *ex, mm_http_xfer *x)
{
    const char *sid = mm_http_xfer_header(x, "Mcp-Session-Id");
    mm_ctx *ctx = ex->ctx;
    if (!sid || (ctx->session_id && !strcmp(sid, ctx->session_id)))
        return;
    if (!session_id_ok(sid)) {
        mm_warn("ignoring a malformed Mcp-Session-Id from the server");
        return;
    }
    mm_ctx_set(&ctx->session_id, sid);
    mm_debug("session %s", sid);
}

/* The media type without parameters, compared case-insensitively. */
static int media_is(const char *ct, const char *type)
{
    size_t n = strlen(type);
    if (!ct)
        return 0;
    while (*ct == ' ')
        ct++;
    return !strncasecmp(ct, type, n) && (!ct[n] || ct[n] == ';' || ct[n] == ' ');
}

static int head_ok(mm_exchange *ex, mm_http_xfer *x, long status)
{
    take_session_id(ex, x);
    const char *ct = mm_http_xfer_header(x, "Content-Type");
    int stream = ex->resuming || !strcmp(ex->rq.method, "GET");
    int expects = stream || ex->rq.id || ex->rq.expects_answer;
    if (status == 202 || status == 204 || !expects) {
        ex->mode = M_IGNORE;
        return 0;
    }
    mm_answer_kind kind;
    if (media_is(ct, "text/event-stream"))
        kind = MM_ANSWER_SSE;
    else if (media_is(ct, "application/json") && !stream)
        kind = MM_ANSWER_JSON;
    else {
        snprintf(ex->oc.why, sizeof(ex->oc.why), "the server answered with Content-Type %s "
                 "(expected %s)", ct ? ct : "(none)",
                 stream ? "text/event-stream" : "application/json or text/event-stream");
        ex->oc.result = MM_EX_FAILED;
        return -1;
    }
    ex->mode = M_ANSWER;
    mm_answer_init(&ex->ans, kind);
    return 0;
}

static int on_head(void *arg, mm_http_xfer *x, long status)
{
    mm_exchange *ex = arg;
    ex->oc.status = status;
    if (status == 401 && ex->cred && !ex->retried) {
        ex->refused = 1; /* asked again in on_done, naming the refused credential */
        return -1;
    }
    if (status == 404 && ex->sent_session) {
        ex->oc.result = MM_EX_SESSION_GONE;
        snprintf(ex->oc.why, sizeof(ex->oc.why), "the server does not know the session "
                 "any more (HTTP 404)");
        return -1;
    }
    if (status >= 200 && status < 300)
        return head_ok(ex, x, status);
    ex->mode = M_ERRBODY;
    return 0;
}

/* ---- the answer's body --------------------------------------------------------------------- */

/* The response went out long ago and the stream is still open: done. */
static void answered_cb(mm_loop *loop, void *data)
{
    (void)loop;
    mm_exchange *ex = data;
    ex->timer = 0;
    mm_debug("the server kept the stream open after its response; closing it");
    if (ex->x)
        mm_http_xfer_cancel(ex->x);
    ex->x = NULL;
    mm_out_unwait(ex->ctx->out, &ex->waiter);
    mm_answer_end(&ex->ans, 0);
    finish(ex);
}

static void resume_transfer(mm_out_waiter *w)
{
    mm_exchange *ex = (mm_exchange *)((char *)w - offsetof(mm_exchange, waiter));
    if (ex->x)
        mm_http_xfer_resume(ex->x);
}

static int on_data(void *arg, const char *p, size_t n)
{
    mm_exchange *ex = arg;
    switch (ex->mode) {
    case M_ANSWER: {
        if (ex->rq.forward && mm_out_busy(ex->ctx->out, mm_answer_pending(&ex->ans))) {
            mm_out_wait(ex->ctx->out, &ex->waiter);
            return 1; /* paused: the same bytes come again when resumed */
        }
        int rc = mm_answer_feed(&ex->ans, p, n);
        if (ex->rq.id && ex->ans.answered && !ex->timer)
            ex->timer = mm_loop_add_timer(ex->ctx->loop, ANSWERED_GRACE_MS, answered_cb, ex);
        return rc;
    }
    case M_ERRBODY: {
        size_t k = n < ERRBODY_MAX - ex->errlen ? n : ERRBODY_MAX - ex->errlen;
        memcpy(ex->errbody + ex->errlen, p, k);
        ex->errlen += k;
        ex->errbody[ex->errlen] = '\0';
        return 0;
    }
    default: return 0;
    }
}

/* What an error body says, in one short line: a JSON-RPC error's message,
 * an OAuth-style error_description or error, else the text itself. */
static void body_detail(const char *body, size_t len, char *out, size_t outlen)
{
    cJSON *j = len ? cJSON_ParseWithLength(body, len) : NULL;
    const cJSON *err = cJSON_GetObjectItemCaseSensitive(j, "error");
    const char *s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err, "message"));
    if (!s)
        s = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "error_description"));
    if (!s)
        s = cJSON_GetStringValue(err);
    snprintf(out, outlen, "%.200s", s ? s : j ? "" : body);
    for (char *p = out; *p; p++)
        if ((unsigned char)*p < 0x20)
            *p = ' ';
    cJSON_Delete(j);
}

static void finish_http_error(mm_exchange *ex)
{
    char detail[256];
    mm_ctx *ctx = ex->ctx;
    long st = ex->oc.status;
    body_detail(ex->errbody, ex->errlen, detail, sizeof(detail));
    if (st == 401 && !ex->cred)
        finish_with(ex, MM_EX_AUTH, "the server at %s wants a credential, but profile %s has "
                    "none to send (HTTP 401%s%s)", ctx->url, ctx->profile, detail[0] ? ": " : "",
                    detail);
    else if (st == 401)
        finish_with(ex, MM_EX_AUTH, "the server at %s refused the credential of profile %s "
                    "even after a refresh (HTTP 401%s%s); run 'mimir-helper login --profile %s'",
                    ctx->url, ctx->profile, detail[0] ? ": " : "", detail, ctx->profile);
    else
        finish_with(ex, MM_EX_HTTP, "HTTP %ld from %s%s%s", st, ctx->url, detail[0] ? ": " : "",
                    detail);
}

static void resume_cb(mm_loop *loop, void *data)
{
    (void)loop;
    mm_exchange *ex = data;
    ex->timer = 0;
    ask_agent(ex, NULL);
}

/* The answer's stream ended before the response to our request came.
 * With an event id the server can replay the rest (GET + Last-Event-ID),
 * after the delay it asked for. */
static int try_resume(mm_exchange *ex)
{
    if (ex->mode != M_ANSWER || ex->ans.kind != MM_ANSWER_SSE || !ex->rq.id ||
        ex->ans.answered || !ex->ans.last_event_id[0] || ex->resumes >= MAX_RESUMES)
        return 0;
    long delay = ex->ans.retry_ms >= 0 ? ex->ans.retry_ms : 1000L * (1 + ex->resumes);
    ex->resumes++;
    ex->resuming = 1;
    ex->retried = 0;
    mm_debug("the answer's stream ended early; resuming after event %s in %ld ms",
             ex->ans.last_event_id, delay);
    ex->timer = mm_loop_add_timer(ex->ctx->loop, (uint64_t)delay, resume_cb, ex);
    return 1;
}

static void on_done(void *arg, mm_err e, const char *why)
{
    mm_exchange *ex = arg;
    ex->x = NULL;
    mm_out_unwait(ex->ctx->out, &ex->waiter);
    if (ex->timer) /* the grace after the response: not needed now */
        mm_loop_del_timer(ex->ctx->loop, ex->timer);
    ex->timer = 0;
    if (ex->refused) {
        ex->refused = 0;
        ex->retried = 1;
        mm_info("the server refused the credential (HTTP 401); asking mimir-agent for a new one");
        ask_agent(ex, ex->cred ? ex->cred->data : "");
        mm_secret_clear(&ex->cred);
        return;
    }
    if (ex->oc.result != MM_EX_OK) { /* decided in on_head */
        finish(ex);
        return;
    }
    if (ex->mode == M_ANSWER)
        mm_answer_end(&ex->ans, e == MM_OK);
    if (try_resume(ex))
        return;
    if (e == MM_ERR_TLS)
        finish_with(ex, MM_EX_FAILED, "%s (a server whose certificate comes from a private CA "
                    "needs ca_file in profile %s)", why, ex->ctx->profile);
    else if (e != MM_OK)
        finish_with(ex, MM_EX_FAILED, "%s", why);
    else if (ex->mode == M_ERRBODY)
        finish_http_error(ex);
    else if (ex->rq.id && !ex->ans.answered)
        finish_with(ex, MM_EX_FAILED, "the server's answer (HTTP %ld) held no response to the "
                    "request", ex->oc.status);
    else
        finish(ex);
}

/* ---- the object -------------------------------------------------------------------------- */

static void answer_hook(void *arg, const char *msg, size_t len)
{
    mm_exchange *ex = arg;
    ex->cbs.answer(ex->arg, ex, msg, len);
}

mm_exchange *mm_exchange_new(mm_ctx *ctx, const mm_exchange_req *rq, const mm_exchange_cbs *cbs,
                             void *arg)
{
    mm_exchange *ex = calloc(1, sizeof(*ex));
    if (!ex)
        return NULL;
    ex->ctx = ctx;
    ex->rq = *rq;
    if (rq->id) {
        ex->id = *rq->id;
        ex->rq.id = &ex->id;
    }
    if (rq->last_event_id && !(ex->resume_from = strdup(rq->last_event_id))) {
        free(ex);
        return NULL;
    }
    ex->cbs = *cbs;
    ex->arg = arg;
    ex->waiter.cb = resume_transfer;
    ex->ans.out = ctx->out;
    ex->ans.forward = rq->forward;
    ex->ans.id = ex->rq.id;
    ex->ans.retry_ms = -1;
    if (cbs->answer) {
        ex->ans.on_answer = answer_hook;
        ex->ans.arg = ex;
    }
    return ex;
}

const mm_ex_outcome *mm_exchange_outcome(const mm_exchange *ex) { return &ex->oc; }

void mm_exchange_cancel(mm_exchange *ex)
{
    if (ex->areq)
        mm_agentconn_cancel(ex->areq);
    ex->areq = NULL;
    if (ex->x)
        mm_http_xfer_cancel(ex->x);
    ex->x = NULL;
    if (ex->timer)
        mm_loop_del_timer(ex->ctx->loop, ex->timer);
    ex->timer = 0;
    mm_out_unwait(ex->ctx->out, &ex->waiter);
    mm_answer_end(&ex->ans, 0);
    mm_secret_clear(&ex->cred);
}

void mm_exchange_free(mm_exchange *ex)
{
    if (!ex)
        return;
    mm_exchange_cancel(ex);
    mm_answer_clear(&ex->ans);
    free(ex->resume_from);
    free(ex);
}
