/* notify.c - fire-and-forget desktop notification over GDBus. */
#include <stdlib.h>
#include <string.h>

#include <gio/gio.h>

#include "log.h"
#include "notify.h"

#define NOTIFY_TIMEOUT_MS 2000

typedef struct {
    mm_job job;
    char *summary, *body;
} notify_job;

static void notify_run(mm_job *job)
{
    notify_job *n = (notify_job *)job;
    GError *err = NULL;
    GDBusConnection *bus = g_bus_get_sync(G_BUS_TYPE_SESSION, NULL, &err);
    if (bus) {
        GVariantBuilder actions, hints;
        g_variant_builder_init(&actions, G_VARIANT_TYPE("as"));
        g_variant_builder_init(&hints, G_VARIANT_TYPE("a{sv}"));
        GVariant *r = g_dbus_connection_call_sync(
            bus, "org.freedesktop.Notifications", "/org/freedesktop/Notifications",
            "org.freedesktop.Notifications", "Notify",
            g_variant_new("(susssasa{sv}i)", "Mimir", 0u, "dialog-password", n->summary,
                          n->body, &actions, &hints, -1),
            NULL, G_DBUS_CALL_FLAGS_NO_AUTO_START, NOTIFY_TIMEOUT_MS, NULL, &err);
        if (r)
            g_variant_unref(r);
        g_object_unref(bus);
    }
    if (err) { /* no notification daemon: the status and socket event remain */
        mm_debug("desktop notification skipped: %s", err->message);
        g_error_free(err);
    }
}

static void notify_done(mm_job *job)
{
    notify_job *n = (notify_job *)job;
    free(n->summary);
    free(n->body);
    free(n);
}

void mm_notify(mm_worker *w, const char *summary, const char *body)
{
    notify_job *n = calloc(1, sizeof(*n));
    if (!n)
        return;
    n->job = (mm_job){.run = notify_run, .done = notify_done};
    n->summary = strdup(summary);
    n->body = strdup(body);
    if (!n->summary || !n->body) {
        notify_done(&n->job);
        return;
    }
    if (mm_worker_submit(w, &n->job) < 0)
        notify_done(&n->job);
}
