/* session.c - client messages to POSTs, the server's stream, renewal, the end (see session.h). */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "exchange.h"
#include "in.h"
#include "log.h"
#include "mimir/proto.h"
#include "session.h"

#define MAX_HELD (16 * 1024 * 1024) /* client messages in flight, bytes */
#define MAX_CALLS 256
#define STREAM_IDLE_S 300           /* the server's stream: reconnect after this much silence */
#define DELETE_TIMEOUT_MS 3000
#define STOP_DELETE_TIMEOUT_MS 1000
#define RPC_ERROR (-32000)          /* the proxy's own errors: implementation-defined range */

/* One message from the client and its POST. */
typedef struct call {
    mm_session *s;
    mm_exchange *ex;
    char *line;
    size_t len;
    mm_msg_kind kind;
    mm_jscan_val id;
    int initialize, initialized; /* which lifecycle message it is */
    char *cancels;               /* notifications/cancelled: the request id it names */
    int renewed;                 /* sent again in a new session already */
    int parked;                  /* waiting for the new session */
    struct call *prev, *next;
} call;

enum { STREAM_IDLE, STREAM_OPEN, STREAM_WAIT, STREAM_NEVER };

struct mm_session {
    mm_ctx *ctx;
    mm_in *in;
    int in_paused;
    call *calls;
    int ncalls;
    size_t held;
    /* what renewing a session needs */
    char *init_line;
    size_t init_len;
    mm_jscan_val init_id;
    int initialized;   /* the client sent notifications/initialized */
    int init_ok;       /* the last initialize answer was a result */
    mm_exchange *renew;
    int renew_step;
    /* the server's stream */
    mm_exchange *stream;
    int stream_state, stream_failures;
    uint64_t stream_timer;
    char stream_last[MM_SSE_ID_MAX + 1];
    /* the end */
    int eof, stopping, deleting, done;
    mm_exchange *del;
    void (*finished)(void *arg);
    void *arg;
};

static void start_call(mm_session *s, call *c);
static void renew_start(mm_session *s);
static void stream_start(mm_session *s);
static void stream_stop(mm_session *s);

/* ---- errors for the client ------------------------------------------------------------ */

static void reply_error(mm_session *s, const mm_jscan_val *id, int code, const char *reason,
                        const char *fmt, ...) __attribute__((format(printf, 5, 6)));
static void reply_error(mm_session *s, const mm_jscan_val *id, int code, const char *reason,
                        const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    cJSON *r = cJSON_CreateObject(), *err = cJSON_CreateObject(), *data = cJSON_CreateObject();
    cJSON_AddStringToObject(r, "jsonrpc", "2.0");
    cJSON_AddItemToObject(r, "id", id ? cJSON_CreateRaw(id->text) : cJSON_CreateNull());
    cJSON_AddNumberToObject(err, "code", code);
    cJSON_AddStringToObject(err, "message", msg);
    cJSON_AddStringToObject(data, "source", "mimir-proxy");
    cJSON_AddStringToObject(data, "reason", reason);
    cJSON_AddItemToObject(err, "data", data);
    cJSON_AddItemToObject(r, "error", err);
    char *line = cJSON_PrintUnformatted(r);
    if (!line || mm_out_line(s->ctx->out, line, strlen(line)) < 0)
        mm_error("out of memory: an error reply was lost (%s)", msg);
    cJSON_free(line);
    cJSON_Delete(r);
}

/* An id fit to echo: a string or number that was read whole. */
static const mm_jscan_val *echo_id(const mm_jscan_val *id)
{
    if (!id->present || !id->usable)
        return NULL;
    char c = id->text[0];
    return c == '"' || c == '-' || (c >= '0' && c <= '9') ? id : NULL;
}

static const char *reason_of(const mm_ex_outcome *oc)
{
    switch (oc->result) {
    case MM_EX_AUTH: return oc->err != MM_OK ? mm_err_code(oc->err) : "unauthorized";
    case MM_EX_SESSION_GONE: return "session_expired";
    case MM_EX_HTTP: return "http_error";
    default: return "transport_error";
    }
}

static void report_failure(mm_session *s, call *c, const mm_ex_outcome *oc)
{
    const char *what = c->kind == MM_MSG_REQUEST ? "request" : "message";
    mm_warn("%s to %s failed: %s", what, s->ctx->url, oc->why);
    if ((c->kind == MM_MSG_REQUEST && !oc->answered) || c->kind == MM_MSG_BATCH)
        reply_error(s, c->kind == MM_MSG_REQUEST ? &c->id : NULL, RPC_ERROR, reason_of(oc),
                    "%s", oc->why);
}

/* ---- calls ------------------------------------------------------------------------------- */

static void in_budget(mm_session *s)
{
    int over = s->held > MAX_HELD || s->ncalls >= MAX_CALLS;
    if (over && !s->in_paused)
        mm_in_pause(s->in);
    else if (!over && s->in_paused && !s->stopping)
        mm_in_resume(s->in);
    s->in_paused = over;
}

static void call_free(mm_session *s, call *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        s->calls = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->ncalls--;
    s->held -= c->len;
    mm_exchange_free(c->ex);
    free(c->cancels);
    free(c->line);
    free(c);
    if (s->in)
        in_budget(s);
}

/* The client gave up on a request (notifications/cancelled reached the
 * server): its answer will not be wanted, so stop waiting for it. */
static void drop_cancelled(mm_session *s, const char *id)
{
    for (call *c = s->calls; c; c = c->next)
        if (c->kind == MM_MSG_REQUEST && c->ex && !strcmp(c->id.text, id)) {
            mm_debug("request %s was cancelled by the client", id);
            call_free(s, c);
            return;
        }
}

static void call_done(void *arg, mm_exchange *ex)
{
    call *c = arg;
    mm_session *s = c->s;
    const mm_ex_outcome *oc = mm_exchange_outcome(ex);
    if (oc->result == MM_EX_SESSION_GONE && !c->renewed && s->init_line && !c->initialize) {
        mm_exchange_free(c->ex);
        c->ex = NULL;
        c->renewed = c->parked = 1;
        renew_start(s);
        return;
    }
    if (oc->result != MM_EX_OK)
        report_failure(s, c, oc);
    else if (c->initialized) {
        s->initialized = 1;
        stream_start(s);
    }
    if (oc->result == MM_EX_OK && c->cancels) {
        char *id = c->cancels;
        c->cancels = NULL;
        call_free(s, c);
        drop_cancelled(s, id);
        free(id);
    } else {
        call_free(s, c);
    }
    mm_session_check(s);
}

/* initialize's result: the protocol version to announce from now on. */
static void init_answer(void *arg, mm_exchange *ex, const char *msg, size_t len)
{
    (void)ex;
    mm_session *s = arg;
    cJSON *j = msg ? mm_json_parse(msg, len) : NULL;
    const cJSON *res = cJSON_GetObjectItemCaseSensitive(j, "result");
    const char *v = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "protocolVersion"));
    s->init_ok = cJSON_IsObject(res);
    if (v)
        mm_ctx_set(&s->ctx->protocol_version, v);
    else if (!msg)
        mm_warn("the initialize answer is too large to read its protocol version");
    cJSON_Delete(j);
}

static void call_answer(void *arg, mm_exchange *ex, const char *msg, size_t len)
{
    init_answer(((call *)arg)->s, ex, msg, len);
}

static void start_call(mm_session *s, call *c)
{
    mm_exchange_req rq = {
        .method = "POST",
        .body = c->line,
        .len = c->len,
        .id = c->kind == MM_MSG_REQUEST ? &c->id : NULL,
        .expects_answer = c->kind == MM_MSG_BATCH,
        .forward = 1,
        .with_session = !c->initialize,
        .timeout_ms = s->ctx->request_timeout_ms,
    };
    mm_exchange_cbs cbs = {call_done, c->initialize ? call_answer : NULL};
    c->parked = 0;
    if (!(c->ex = mm_exchange_new(s->ctx, &rq, &cbs, c))) {
        reply_error(s, rq.id, RPC_ERROR, "no_memory", "mimir-proxy is out of memory");
        call_free(s, c);
        return;
    }
    mm_exchange_start(c->ex);
}

/* ---- what the client writes ---------------------------------------------------------------- */

/* notifications/cancelled: the id of the request it cancels, as JSON text. */
static char *cancelled_id(const char *line, size_t len)
{
    cJSON *j = mm_json_parse(line, len);
    const cJSON *p = cJSON_GetObjectItemCaseSensitive(j, "params");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(p, "requestId");
    char *text = cJSON_IsString(id) || cJSON_IsNumber(id) ? cJSON_PrintUnformatted(id) : NULL;
    char *copy = text ? strdup(text) : NULL;
    cJSON_free(text);
    cJSON_Delete(j);
    return copy;
}

/* The client starts a session: forget the old one. */
static void new_session(mm_session *s, call *c)
{
    free(s->init_line);
    s->init_line = malloc(c->len + 1);
    if (s->init_line) {
        memcpy(s->init_line, c->line, c->len + 1);
        s->init_len = c->len;
        s->init_id = c->id;
    }
    mm_ctx_set(&s->ctx->session_id, NULL);
    mm_ctx_set(&s->ctx->protocol_version, NULL);
    s->initialized = 0;
    stream_stop(s);
    s->stream_last[0] = '\0';
}

static call *call_new(mm_session *s, char *line, size_t len, const mm_jscan *sc)
{
    call *c = calloc(1, sizeof(*c));
    if (!c)
        return NULL;
    *c = (call){.s = s, .line = line, .len = len, .kind = mm_jscan_kind(sc), .id = sc->id};
    c->initialize = c->kind == MM_MSG_REQUEST && mm_jscan_method_is(sc, "initialize");
    c->initialized = c->kind == MM_MSG_NOTIFICATION &&
                     mm_jscan_method_is(sc, "notifications/initialized");
    if (c->kind == MM_MSG_NOTIFICATION && mm_jscan_method_is(sc, "notifications/cancelled"))
        c->cancels = cancelled_id(line, len);
    c->next = s->calls;
    if (s->calls)
        s->calls->prev = c;
    s->calls = c;
    s->ncalls++;
    s->held += len;
    return c;
}

static void on_line(void *arg, char *line, size_t len)
{
    mm_session *s = arg;
    if (s->stopping || strspn(line, " \t\r") == len) {
        free(line);
        return;
    }
    mm_jscan sc;
    mm_jscan_init(&sc);
    if (mm_jscan_feed(&sc, line, len) < 0 || mm_jscan_end(&sc) < 0) {
        reply_error(s, NULL, -32700, "parse_error", "Parse error: %s (at byte %zu)", sc.why,
                    sc.error_at);
        free(line);
        return;
    }
    if (mm_jscan_kind(&sc) == MM_MSG_INVALID) {
        reply_error(s, echo_id(&sc.id), -32600, "invalid_request", "Invalid Request: not a "
                    "JSON-RPC request, notification or response");
        free(line);
        return;
    }
    call *c = call_new(s, line, len, &sc);
    if (!c) {
        reply_error(s, echo_id(&sc.id), RPC_ERROR, "no_memory", "mimir-proxy is out of memory");
        free(line);
        return;
    }
    if (c->initialize)
        new_session(s, c);
    in_budget(s);
    start_call(s, c);
}

static void on_too_long(void *arg, const char *head, size_t n)
{
    mm_session *s = arg;
    mm_jscan sc;
    mm_jscan_init(&sc);
    mm_jscan_feed(&sc, head, n); /* the id, if it comes early enough */
    mm_warn("a message from the client is larger than %d MiB; refused",
            MM_SESSION_MAX_MESSAGE >> 20);
    reply_error(s, echo_id(&sc.id), -32600, "too_large", "Invalid Request: message larger than "
                "%d MiB, the most mimir-proxy forwards", MM_SESSION_MAX_MESSAGE >> 20);
}

static void on_eof(void *arg)
{
    mm_session *s = arg;
    mm_debug("end of input");
    s->eof = 1;
    mm_session_check(s);
}

/* ---- a new session when the server forgot ours ------------------------------------------------ */

static void renew_done(void *arg, mm_exchange *ex);

static void renew_send(mm_session *s, const char *body, size_t len, int step)
{
    mm_exchange_req rq = {.method = "POST", .body = body, .len = len, .forward = 0,
                          .with_session = step == 2, .timeout_ms = s->ctx->request_timeout_ms,
                          .id = step == 1 ? &s->init_id : NULL};
    mm_exchange_cbs cbs = {renew_done, step == 1 ? init_answer : NULL};
    s->renew_step = step;
    s->init_ok = 0;
    s->renew = mm_exchange_new(s->ctx, &rq, &cbs, s);
    if (s->renew)
        mm_exchange_start(s->renew);
    else
        mm_error("out of memory starting a new session");
}

static void renew_start(mm_session *s)
{
    if (s->renew)
        return; /* under way: the call waits for it with the others */
    mm_info("the server no longer knows session %s (HTTP 404); starting a new one",
            s->ctx->session_id ? s->ctx->session_id : "?");
    mm_ctx_set(&s->ctx->session_id, NULL);
    stream_stop(s);
    renew_send(s, s->init_line, s->init_len, 1);
    if (!s->renew)
        renew_done(s, NULL);
}

static void renew_finished(mm_session *s, const char *failure)
{
    for (call *c = s->calls, *next; c; c = next) {
        next = c->next;
        if (!c->parked)
            continue;
        if (!failure) {
            start_call(s, c);
            continue;
        }
        mm_ex_outcome oc = {.result = MM_EX_SESSION_GONE};
        snprintf(oc.why, sizeof(oc.why), "the server ended the MCP session and a new one "
                 "could not be started: %s", failure);
        report_failure(s, c, &oc);
        call_free(s, c);
    }
    if (!failure && s->initialized)
        stream_start(s);
    mm_session_check(s);
}

static void renew_done(void *arg, mm_exchange *ex)
{
    mm_session *s = arg;
    const mm_ex_outcome *oc = ex ? mm_exchange_outcome(ex) : NULL;
    char why[600];
    int ok = oc && oc->result == MM_EX_OK && (s->renew_step == 2 || s->init_ok);
    snprintf(why, sizeof(why), "%s", !oc ? "out of memory" : ok ? "" : oc->result == MM_EX_OK
                                                                  ? "initialize was refused"
                                                                  : oc->why);
    mm_exchange_free(s->renew);
    s->renew = NULL;
    if (!ok) {
        mm_warn("starting a new session failed: %s", why);
        renew_finished(s, why);
        return;
    }
    if (s->renew_step == 1) {
        static const char initialized[] = "{\"jsonrpc\":\"2.0\",\"method\":"
                                          "\"notifications/initialized\"}";
        renew_send(s, initialized, sizeof(initialized) - 1, 2);
        if (!s->renew)
            renew_finished(s, "out of memory");
        return;
    }
    mm_info("new session %s", s->ctx->session_id ? s->ctx->session_id : "(none)");
    renew_finished(s, NULL);
}

/* ---- the server's own stream ----------------------------------------------------------------- */

static void stream_done(void *arg, mm_exchange *ex);

static void stream_timer(mm_loop *loop, void *data)
{
    (void)loop;
    mm_session *s = data;
    s->stream_timer = 0;
    s->stream_state = STREAM_IDLE;
    stream_start(s);
}

static void stream_start(mm_session *s)
{
    if (s->stream_state != STREAM_IDLE || !s->initialized || s->renew || s->eof || s->stopping)
        return;
    mm_exchange_req rq = {.method = "GET", .forward = 1, .with_session = 1,
                          .idle_s = STREAM_IDLE_S,
                          .last_event_id = s->stream_last[0] ? s->stream_last : NULL};
    mm_exchange_cbs cbs = {stream_done, NULL};
    if (!(s->stream = mm_exchange_new(s->ctx, &rq, &cbs, s)))
        return;
    s->stream_state = STREAM_OPEN;
    mm_exchange_start(s->stream);
}

/* Close it (it resumes from the last event when started again). */
static void stream_stop(mm_session *s)
{
    mm_exchange_free(s->stream);
    s->stream = NULL;
    if (s->stream_timer)
        mm_loop_del_timer(s->ctx->loop, s->stream_timer);
    s->stream_timer = 0;
    if (s->stream_state != STREAM_NEVER)
        s->stream_state = STREAM_IDLE;
}

static void stream_again(mm_session *s, long delay_ms)
{
    s->stream_state = STREAM_WAIT;
    s->stream_timer = mm_loop_add_timer(s->ctx->loop, (uint64_t)delay_ms, stream_timer, s);
}

static void stream_done(void *arg, mm_exchange *ex)
{
    mm_session *s = arg;
    const mm_ex_outcome *oc = mm_exchange_outcome(ex);
    mm_ex_result r = oc->result;
    long status = oc->status, retry = oc->retry_ms;
    int messages = oc->messages;
    if (oc->last_event_id[0])
        snprintf(s->stream_last, sizeof(s->stream_last), "%s", oc->last_event_id);
    if (r != MM_EX_OK && r != MM_EX_SESSION_GONE)
        mm_debug("the server's stream: %s", oc->why);
    mm_exchange_free(s->stream);
    s->stream = NULL;
    s->stream_state = STREAM_IDLE;
    if (r == MM_EX_HTTP && status >= 400 && status < 500 && status != 408 && status != 429) {
        /* 405: the server offers none; 409: it has one open already. */
        if (status != 405)
            mm_info("the server refused its stream of server messages (HTTP %ld)", status);
        s->stream_state = STREAM_NEVER;
        return;
    }
    if (r == MM_EX_SESSION_GONE) {
        if (s->init_line)
            renew_start(s);
        return;
    }
    if (r == MM_EX_OK && messages)
        s->stream_failures = 0;
    else if (s->stream_failures < 5)
        s->stream_failures++;
    long backoff = 1000L << s->stream_failures; /* 2 s doubling to 32 s */
    stream_again(s, r == MM_EX_OK && retry >= 0 ? retry : backoff);
}

/* ---- the end --------------------------------------------------------------------------------- */

static void delete_done(void *arg, mm_exchange *ex)
{
    mm_session *s = arg;
    const mm_ex_outcome *oc = mm_exchange_outcome(ex);
    if (oc->result != MM_EX_OK && oc->status != 405 && oc->status != 404)
        mm_debug("ending the session on the server: %s", oc->why);
    s->done = 1;
    s->finished(s->arg);
}

static void end_session(mm_session *s)
{
    s->deleting = 1;
    mm_agentconn_autostart(s->ctx->agent, 0);
    if (s->ctx->session_id) {
        mm_exchange_req rq = {.method = "DELETE", .with_session = 1,
                              .timeout_ms = s->stopping ? STOP_DELETE_TIMEOUT_MS
                                                        : DELETE_TIMEOUT_MS};
        mm_exchange_cbs cbs = {delete_done, NULL};
        if ((s->del = mm_exchange_new(s->ctx, &rq, &cbs, s))) {
            mm_exchange_start(s->del);
            return;
        }
    }
    s->done = 1;
    s->finished(s->arg);
}

void mm_session_check(mm_session *s)
{
    if (s->done || s->deleting)
        return;
    if (mm_out_failed(s->ctx->out) && !s->stopping) {
        mm_info("the client stopped reading; ending");
        mm_session_stop(s);
        return;
    }
    if (!s->eof && !s->stopping)
        return;
    stream_stop(s); /* it never ends on its own */
    if (s->calls || s->renew || (!mm_out_idle(s->ctx->out) && !mm_out_failed(s->ctx->out)))
        return;
    end_session(s);
}

void mm_session_stop(mm_session *s)
{
    if (s->stopping)
        return;
    s->stopping = 1;
    mm_in_pause(s->in);
    while (s->calls)
        call_free(s, s->calls);
    mm_exchange_free(s->renew);
    s->renew = NULL;
    mm_session_check(s);
}

/* ---- the object ---------------------------------------------------------------------------- */

mm_session *mm_session_new(mm_ctx *ctx, int in_fd, void (*finished)(void *arg), void *arg)
{
    static const mm_in_cbs in_cbs = {on_line, on_too_long, on_eof};
    mm_session *s = calloc(1, sizeof(*s));
    if (!s)
        return NULL;
    s->ctx = ctx;
    s->finished = finished;
    s->arg = arg;
    if (!(s->in = mm_in_new(ctx->loop, in_fd, MM_SESSION_MAX_MESSAGE, &in_cbs, s))) {
        free(s);
        return NULL;
    }
    return s;
}

void mm_session_free(mm_session *s)
{
    if (!s)
        return;
    mm_in_free(s->in);
    s->in = NULL;
    while (s->calls)
        call_free(s, s->calls);
    mm_exchange_free(s->renew);
    stream_stop(s);
    mm_exchange_free(s->del);
    free(s->init_line);
    free(s);
}
