/* desktop.c - notifications with actions, on a GLib thread (see desktop.h). */
#include <pthread.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include <gio/gio.h>

#include "desktop.h"
#include "log.h"

#define SHOWN_MAX 16 /* notifications whose action we still honour */
#define BUS_NAME "org.freedesktop.Notifications"
#define BUS_PATH "/org/freedesktop/Notifications"

typedef struct {
    guint32 id;
    char profile[65];
} shown;

struct mm_desktop {
    mm_loop *loop;
    mm_desktop_signin signin;
    void *ctx;
    int efd;
    pthread_t thread;
    GMainContext *gctx;
    GMainLoop *gloop;
    GDBusConnection *bus;     /* desktop thread */
    GCancellable *connecting; /* the bus connection in progress, cut short at exit */
    shown shown[SHOWN_MAX];   /* desktop thread */
    int next_shown;
    pthread_mutex_t mu;       /* guards the queue below */
    char queue[SHOWN_MAX][65]; /* profiles whose Sign in was chosen */
    int queued;
};

typedef struct {
    mm_desktop *d;
    char profile[65];
    char *body;
    int signin;
} notify_req;

/* ---- the desktop thread ------------------------------------------------------ */

static void on_action(GDBusConnection *c, const gchar *sender, const gchar *path,
                      const gchar *iface, const gchar *signal, GVariant *params, gpointer data)
{
    (void)c, (void)sender, (void)path, (void)iface, (void)signal;
    mm_desktop *d = data;
    guint32 id;
    const gchar *key;
    /* Any client on the session bus may emit this signal with any body: a
     * wrong one would make g_variant_get abort the agent. */
    if (!g_variant_is_of_type(params, G_VARIANT_TYPE("(us)")))
        return;
    g_variant_get(params, "(u&s)", &id, &key);
    if (strcmp(key, "signin") && strcmp(key, "default"))
        return;
    for (int i = 0; i < SHOWN_MAX; i++)
        if (d->shown[i].id == id && d->shown[i].profile[0]) {
            pthread_mutex_lock(&d->mu);
            if (d->queued < SHOWN_MAX)
                memcpy(d->queue[d->queued++], d->shown[i].profile, 65);
            pthread_mutex_unlock(&d->mu);
            d->shown[i].profile[0] = '\0'; /* one sign-in per notification */
            uint64_t one = 1;
            if (write(d->efd, &one, sizeof(one)) < 0) { /* the counter cannot overflow here */
            }
        }
}

static void notified(GObject *src, GAsyncResult *res, gpointer data)
{
    notify_req *n = data;
    GError *err = NULL;
    GVariant *r = g_dbus_connection_call_finish(G_DBUS_CONNECTION(src), res, &err);
    if (r) {
        shown *s = &n->d->shown[n->d->next_shown++ % SHOWN_MAX];
        g_variant_get(r, "(u)", &s->id);
        if (n->signin) /* else a click on it signs nobody in */
            memcpy(s->profile, n->profile, sizeof(s->profile));
        else
            s->profile[0] = '\0';
        g_variant_unref(r);
    } else { /* no notification daemon: the state event and status remain */
        mm_debug("desktop notification skipped: %s", err->message);
        g_error_free(err);
    }
    free(n->body);
    free(n);
}

static gboolean do_notify(gpointer data)
{
    notify_req *n = data;
    mm_desktop *d = n->d;
    if (!d->bus) {
        free(n->body);
        free(n);
        return G_SOURCE_REMOVE;
    }
    static const char *const actions[] = {"default", "Sign in", "signin", "Sign in", NULL};
    static const char *const none[] = {NULL};
    GVariantBuilder hints;
    g_variant_builder_init(&hints, G_VARIANT_TYPE("a{sv}"));
    g_dbus_connection_call(d->bus, BUS_NAME, BUS_PATH, BUS_NAME, "Notify",
                           g_variant_new("(susss^asa{sv}i)", "Mimir", 0u, "dialog-password",
                                         "Mimir: login required", n->body,
                                         n->signin ? actions : none, &hints, -1),
                           G_VARIANT_TYPE("(u)"), G_DBUS_CALL_FLAGS_NO_AUTO_START, 5000, NULL,
                           notified, n);
    return G_SOURCE_REMOVE;
}

static void bus_ready(GObject *src, GAsyncResult *res, gpointer data)
{
    (void)src;
    mm_desktop *d = data;
    GError *err = NULL;
    d->bus = g_bus_get_finish(res, &err);
    if (d->bus)
        g_dbus_connection_signal_subscribe(d->bus, BUS_NAME, BUS_NAME, "ActionInvoked", BUS_PATH,
                                           NULL, G_DBUS_SIGNAL_FLAGS_NONE, on_action, d, NULL);
    else {
        mm_debug("no session bus for notifications: %s", err->message);
        g_error_free(err);
    }
}

/* The bus is reached asynchronously, from inside the running loop: a
 * session bus that is slow to answer (or never does) must not keep the
 * thread out of its loop, where the quit of a stopping agent waits. */
static void *thread_main(void *arg)
{
    mm_desktop *d = arg;
    g_main_context_push_thread_default(d->gctx);
    if (getenv("DBUS_SESSION_BUS_ADDRESS"))
        g_bus_get(G_BUS_TYPE_SESSION, d->connecting, bus_ready, d);
    g_main_loop_run(d->gloop);
    if (d->bus)
        g_object_unref(d->bus);
    g_main_context_pop_thread_default(d->gctx);
    return NULL;
}

/* ---- the loop thread ------------------------------------------------------------ */

static void on_event(mm_loop *loop, int fd, uint32_t events, void *data)
{
    (void)loop, (void)events;
    mm_desktop *d = data;
    uint64_t n;
    if (read(fd, &n, sizeof(n)) < 0) { /* EAGAIN: another wakeup drained it */
    }
    char profiles[SHOWN_MAX][65];
    pthread_mutex_lock(&d->mu);
    int k = d->queued;
    memcpy(profiles, d->queue, sizeof(profiles));
    d->queued = 0;
    pthread_mutex_unlock(&d->mu);
    for (int i = 0; i < k; i++)
        d->signin(d->ctx, profiles[i]);
}

mm_desktop *mm_desktop_new(mm_loop *loop, mm_desktop_signin signin, void *ctx)
{
    mm_desktop *d = calloc(1, sizeof(*d));
    if (!d)
        return NULL;
    *d = (mm_desktop){.loop = loop, .signin = signin, .ctx = ctx,
                      .efd = eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC)};
    pthread_mutex_init(&d->mu, NULL);
    d->gctx = g_main_context_new();
    d->gloop = g_main_loop_new(d->gctx, FALSE);
    d->connecting = g_cancellable_new();
    if (d->efd < 0 || mm_loop_add_fd(loop, d->efd, EPOLLIN, on_event, d) < 0 ||
        pthread_create(&d->thread, NULL, thread_main, d) != 0) {
        if (d->efd >= 0)
            close(d->efd);
        g_main_loop_unref(d->gloop);
        g_main_context_unref(d->gctx);
        g_object_unref(d->connecting);
        free(d);
        return NULL;
    }
    return d;
}

static gboolean quit(gpointer data)
{
    g_main_loop_quit(data);
    return G_SOURCE_REMOVE;
}

void mm_desktop_free(mm_desktop *d)
{
    if (!d)
        return;
    g_cancellable_cancel(d->connecting);
    g_main_context_invoke(d->gctx, quit, d->gloop);
    pthread_join(d->thread, NULL);
    g_object_unref(d->connecting);
    mm_loop_del_fd(d->loop, d->efd);
    close(d->efd);
    g_main_loop_unref(d->gloop);
    g_main_context_unref(d->gctx);
    pthread_mutex_destroy(&d->mu);
    free(d);
}

void mm_desktop_login_required(mm_desktop *d, const char *profile, const char *body,
                               int signin)
{
    notify_req *n = d ? calloc(1, sizeof(*n)) : NULL;
    if (!n || !(n->body = strdup(body))) {
        free(n);
        return;
    }
    n->d = d;
    n->signin = signin;
    snprintf(n->profile, sizeof(n->profile), "%s", profile);
    g_main_context_invoke(d->gctx, do_notify, n);
}
