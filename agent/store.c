/* store.c - libsecret-backed credential items (see store.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libsecret/secret.h>

#include "log.h"
#include "store.h"
#include "vault.h"

typedef struct store_job {
    mm_job job;
    mm_store_op op;
    mm_store_backend backend; /* as configured when submitted */
    char vault[4096];
    int ran;                  /* result: the job ran (not refused at submission) */
    int used_file;            /* result: the job went to the file store */
    int unlocked;             /* result: the file store is unlocked after it */
    uint64_t queued_at, began_at, ended_at; /* boot clock, for the slow-store warning */
    mm_store_key key; /* copied: the config may be reloaded meanwhile */
    mm_secret *doc;
    GCancellable *cancel; /* the loop thread cancels; the worker's call sees it */
    mm_loop *loop;
    uint64_t deadline;
    int timeout_ms;
    mm_err err;
    char why[512];
    mm_store_done done;
    void *arg;
    struct store_job *prev, *next; /* live jobs, loop thread only */
} store_job;

static store_job *live;
/* Loop thread: the configuration, and what the last finished job saw. */
static mm_store_backend configured = MM_STORE_AUTO;
static char vault_path[4096];
static int seen_used_file = -1, seen_unlocked;
/* Worker thread: what AUTO resolved to (-1: not yet). */
static int auto_is_file = -1;

void mm_store_init(void)
{
    /* GLib (2.74) can deadlock when two threads register or initialise
     * GObject types at once: the desktop thread creating the session bus
     * connection (GDBusConnection's type) while the store's worker builds
     * the SecretService (its class, which needs GDBusConnection's) each held
     * what the other waited for, and both hung for good, taking SIGTERM
     * with them.  Registering and initialising those types here, on the
     * loop thread before any other thread exists, leaves nothing to race. */
    g_type_class_unref(g_type_class_ref(G_TYPE_DBUS_CONNECTION));
    g_type_class_unref(g_type_class_ref(G_TYPE_DBUS_PROXY));
    g_type_class_unref(g_type_class_ref(SECRET_TYPE_SERVICE));
    g_type_class_unref(g_type_class_ref(SECRET_TYPE_COLLECTION));
    g_type_class_unref(g_type_class_ref(SECRET_TYPE_ITEM));
}

void mm_store_configure(mm_store_backend b, const char *path)
{
    configured = b;
    snprintf(vault_path, sizeof(vault_path), "%s", path ? path : "");
}

const char *mm_store_in_use(void)
{
    return seen_used_file < 0 ? NULL : seen_used_file ? "file" : "keyring";
}

const char *mm_store_label(void)
{
    return seen_used_file > 0 ? "file store" : "keyring";
}

int mm_store_unlocked(void) { return seen_unlocked; }

static const SecretSchema *schema(void)
{
    static const SecretSchema s = {
        .name = "io.mimir.Credential",
        .flags = SECRET_SCHEMA_NONE,
        .attributes = {
            {"profile", SECRET_SCHEMA_ATTRIBUTE_STRING},
            {"issuer", SECRET_SCHEMA_ATTRIBUTE_STRING},
            {"client_id", SECRET_SCHEMA_ATTRIBUTE_STRING},
            {"NULL", 0},
        },
    };
    return &s;
}

/* ---- the calls, on the worker thread ---------------------------------- */

/* Map a GError to our codes: D-Bus level failures mean no usable service. */
static mm_err from_gerror(store_job *j, GError *err, const char *what)
{
    mm_err e = MM_ERR_STORE;
    if (g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
        e = MM_ERR_TIMEOUT;
        snprintf(j->why, sizeof(j->why), "the keyring did not %s within %d s (locked, "
                 "waiting for a prompt, or hung)", what, j->timeout_ms / 1000);
    } else if (err->domain == G_DBUS_ERROR || err->domain == G_IO_ERROR ||
               (err->domain == SECRET_ERROR && err->code == SECRET_ERROR_PROTOCOL)) {
        e = MM_ERR_STORE_UNAVAILABLE;
        snprintf(j->why, sizeof(j->why),
                 "no Secret Service reachable to %s (is gnome-keyring or another keyring "
                 "running in this D-Bus session?): %s",
                 what, err->message);
    } else {
        snprintf(j->why, sizeof(j->why), "keyring refused to %s: %s", what, err->message);
    }
    g_error_free(err);
    return e;
}

static GError *call(store_job *j)
{
    GError *err = NULL;
    const mm_store_key *k = &j->key;
    if (j->op == MM_STORE_LOAD) {
        gchar *pw = secret_password_lookup_sync(schema(), j->cancel, &err, "profile",
                                                k->profile, "issuer", k->issuer, "client_id",
                                                k->client_id, NULL);
        if (pw && !(j->doc = mm_secret_from_str(pw)))
            j->err = MM_ERR_NOMEM;
        secret_password_free(pw); /* wipes */
    } else if (j->op == MM_STORE_SAVE) {
        char label[128];
        snprintf(label, sizeof(label), "Mimir credential (profile %s)", k->profile);
        secret_password_store_sync(schema(), SECRET_COLLECTION_DEFAULT, label, j->doc->data,
                                   j->cancel, &err, "profile", k->profile, "issuer",
                                   k->issuer, "client_id", k->client_id, NULL);
    } else {
        secret_password_clear_sync(schema(), j->cancel, &err, "profile", k->profile, "issuer",
                                   k->issuer, "client_id", k->client_id, NULL);
    }
    return err;
}

/* An answer that says nothing about whether a Secret Service exists: the
 * call was cut short or a busy daemon did not answer in time.  Only a clear
 * "nobody owns that name / no bus" may send the user's secrets to the file
 * store for the rest of the agent's life. */
static int transient(const GError *err)
{
    return g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED) ||
           g_error_matches(err, G_IO_ERROR, G_IO_ERROR_TIMED_OUT) ||
           g_error_matches(err, G_DBUS_ERROR, G_DBUS_ERROR_TIMEOUT) ||
           g_error_matches(err, G_DBUS_ERROR, G_DBUS_ERROR_TIMED_OUT) ||
           g_error_matches(err, G_DBUS_ERROR, G_DBUS_ERROR_NO_REPLY) ||
           g_error_matches(err, G_DBUS_ERROR, G_DBUS_ERROR_LIMITS_EXCEEDED);
}

/* AUTO decides once, on the worker thread: a session bus with a Secret
 * Service that opens a session means the keyring.  The question is asked
 * under the job's deadline (a stopped keyring daemon would hold it for
 * D-Bus's 25 s); a question cut short decides nothing. */
static int resolve_auto(store_job *j)
{
    if (auto_is_file >= 0)
        return auto_is_file;
    if (!getenv("DBUS_SESSION_BUS_ADDRESS"))
        return auto_is_file = 1;
    GError *err = NULL;
    SecretService *svc = secret_service_get_sync(SECRET_SERVICE_OPEN_SESSION, j->cancel, &err);
    int passing = err && transient(err);
    if (svc)
        g_object_unref(svc);
    if (err)
        g_error_free(err);
    if (passing)
        return 0; /* this job goes to the keyring and fails there; ask again next time */
    return auto_is_file = svc == NULL;
}

static void keyring_run(store_job *j)
{
    static const char *const what[] = {"read the credential", "store the credential",
                                       "erase the credential"};
    if (j->op > MM_STORE_ERASE) {
        snprintf(j->why, sizeof(j->why), "the keyring is in use, not the encrypted file store "
                 "(set \"store\": \"file\" in the config to use one)");
        j->err = MM_ERR_WRONG_KIND;
        return;
    }
    GError *err = call(j);
    /* libsecret keeps one connection and one session to the Secret Service.
     * When the keyring daemon restarts, both die with it ("The session
     * wrapping the secret does not exist"): drop them and try once more on
     * a fresh connection, so a restarted keyring costs no credential. */
    if (err && !g_error_matches(err, G_IO_ERROR, G_IO_ERROR_CANCELLED)) {
        g_error_free(err);
        secret_service_disconnect();
        err = call(j);
    }
    if (err)
        j->err = from_gerror(j, err, what[j->op]);
}

static void vault_run(store_job *j)
{
    const char *id[3] = {j->key.profile, j->key.issuer, j->key.client_id};
    mm_secret *doc = NULL;
    switch (j->op) {
    case MM_STORE_LOAD:
        j->err = mm_vault_load(j->vault, id, &doc, j->why, sizeof(j->why));
        j->doc = doc;
        break;
    case MM_STORE_SAVE: j->err = mm_vault_save(j->vault, id, j->doc, j->why, sizeof(j->why)); break;
    case MM_STORE_ERASE: j->err = mm_vault_erase(j->vault, id, j->why, sizeof(j->why)); break;
    case MM_STORE_UNLOCK:
    case MM_STORE_UNLOCK_CREATE:
        j->err = mm_vault_unlock(j->vault, j->doc, j->op == MM_STORE_UNLOCK_CREATE, j->why,
                                 sizeof(j->why));
        break;
    case MM_STORE_LOCK: mm_vault_lock(); break;
    }
}

static void store_run(mm_job *job)
{
    store_job *j = (store_job *)job;
    j->began_at = mm_now_ms();
    if (g_cancellable_is_cancelled(j->cancel)) { /* its deadline passed in the queue */
        j->err = MM_ERR_TIMEOUT;
        snprintf(j->why, sizeof(j->why), "the credential store was busy with other calls for "
                 "%d s; try again", j->timeout_ms / 1000);
        return; /* not run: it tells nothing about which store is in use */
    }
    j->ran = 1;
    j->used_file = j->backend == MM_STORE_FILE || (j->backend == MM_STORE_AUTO && resolve_auto(j));
    if (j->used_file)
        vault_run(j);
    else
        keyring_run(j);
    j->unlocked = mm_vault_unlocked();
    j->ended_at = mm_now_ms();
}

/* A store that takes seconds explains timeouts elsewhere (a keyring daemon
 * starved of disk, a prompt nobody sees): say so, with where the time went. */
static void note_slow(const store_job *j)
{
    static const char *const ops[] = {"read", "write", "erase", "unlock", "unlock", "lock"};
    uint64_t ran = j->ended_at - j->began_at, waited = j->began_at - j->queued_at;
    if (ran + waited < 2000)
        return;
    mm_warn("%s %s took %.1f s (%.1f s of it queued behind other store calls)",
            j->used_file ? "file store" : "keyring", ops[j->op], (double)(ran + waited) / 1000,
            (double)waited / 1000);
}

/* ---- the loop side ------------------------------------------------------ */

static void unlink_job(store_job *j)
{
    if (j->prev)
        j->prev->next = j->next;
    else
        live = j->next;
    if (j->next)
        j->next->prev = j->prev;
}

static void store_done(mm_job *job)
{
    store_job *j = (store_job *)job;
    unlink_job(j);
    if (j->ran) {
        note_slow(j);
        seen_used_file = j->used_file;
        seen_unlocked = j->unlocked;
    }
    if (j->deadline)
        mm_loop_del_timer(j->loop, j->deadline);
    j->done(j->arg, j->err, j->why, j->op == MM_STORE_LOAD ? j->doc : NULL);
    mm_secret_free(j->doc);
    g_object_unref(j->cancel);
    free(j);
}

static void expired(mm_loop *loop, void *data)
{
    (void)loop;
    store_job *j = data;
    j->deadline = 0;
    g_cancellable_cancel(j->cancel);
}

static void refuse(mm_loop *loop, void *data)
{
    (void)loop;
    store_job *j = data;
    store_done(&j->job);
}

void mm_store_submit(mm_worker *w, mm_loop *loop, mm_store_op op, const mm_store_key *k,
                     mm_secret *doc, int timeout_ms, mm_store_done done, void *arg)
{
    store_job *j = calloc(1, sizeof(*j));
    if (!j) {
        mm_secret_free(doc);
        done(arg, MM_ERR_NOMEM, "out of memory", NULL);
        return;
    }
    *j = (store_job){.job = {.run = store_run, .done = store_done}, .op = op,
                     .backend = configured, .doc = doc,
                     .cancel = g_cancellable_new(), .loop = loop, .timeout_ms = timeout_ms,
                     .done = done, .arg = arg, .next = live, .queued_at = mm_now_ms()};
    memcpy(j->vault, vault_path, sizeof(j->vault));
    if (k)
        j->key = *k;
    if (live)
        live->prev = j;
    live = j;
    if ((op == MM_STORE_SAVE || op == MM_STORE_UNLOCK || op == MM_STORE_UNLOCK_CREATE) && !doc) {
        j->err = MM_ERR_NOMEM;
        snprintf(j->why, sizeof(j->why), "out of memory");
        mm_loop_add_timer(loop, 0, refuse, j); /* done from a later turn, as promised */
        return;
    }
    j->deadline = mm_loop_add_timer(loop, (uint64_t)timeout_ms, expired, j);
    if (mm_worker_submit(w, &j->job) < 0) { /* the agent is stopping: no more calls */
        j->err = MM_ERR_INTERNAL;
        snprintf(j->why, sizeof(j->why), "mimir-agent is stopping");
        store_done(&j->job);
    }
}

void mm_store_cancel_all(void)
{
    for (store_job *j = live; j; j = j->next)
        g_cancellable_cancel(j->cancel);
}
