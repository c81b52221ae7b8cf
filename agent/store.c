/* store.c - libsecret-backed credential items (see store.h). */
#include <stdio.h>
#include <string.h>

#include <libsecret/secret.h>

#include "store.h"

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

/* Map a GError to our codes: D-Bus level failures mean no usable service. */
static mm_err from_gerror(GError *err, const char *what, char *why, size_t whylen)
{
    mm_err e = MM_ERR_STORE;
    if (err->domain == G_DBUS_ERROR || err->domain == G_IO_ERROR ||
        (err->domain == SECRET_ERROR && err->code == SECRET_ERROR_PROTOCOL)) {
        e = MM_ERR_STORE_UNAVAILABLE;
        snprintf(why, whylen,
                 "no Secret Service reachable to %s (is gnome-keyring or another keyring "
                 "running in this D-Bus session?): %s",
                 what, err->message);
    } else {
        snprintf(why, whylen, "keyring refused to %s: %s", what, err->message);
    }
    g_error_free(err);
    return e;
}

mm_err mm_store_load(const mm_store_key *k, mm_secret **doc, char *why, size_t whylen)
{
    GError *err = NULL;
    *doc = NULL;
    gchar *pw = secret_password_lookup_sync(schema(), NULL, &err, "profile", k->profile,
                                            "issuer", k->issuer, "client_id", k->client_id,
                                            NULL);
    if (err)
        return from_gerror(err, "read the credential", why, whylen);
    if (!pw)
        return MM_OK;
    *doc = mm_secret_from_str(pw);
    secret_password_free(pw); /* wipes */
    return *doc ? MM_OK : MM_ERR_NOMEM;
}

mm_err mm_store_save(const mm_store_key *k, const mm_secret *doc, char *why, size_t whylen)
{
    GError *err = NULL;
    char label[128];
    snprintf(label, sizeof(label), "Mimir credential (profile %s)", k->profile);
    secret_password_store_sync(schema(), SECRET_COLLECTION_DEFAULT, label, doc->data, NULL,
                               &err, "profile", k->profile, "issuer", k->issuer, "client_id",
                               k->client_id, NULL);
    return err ? from_gerror(err, "store the credential", why, whylen) : MM_OK;
}

mm_err mm_store_erase(const mm_store_key *k, char *why, size_t whylen)
{
    GError *err = NULL;
    secret_password_clear_sync(schema(), NULL, &err, "profile", k->profile, "issuer",
                               k->issuer, "client_id", k->client_id, NULL);
    return err ? from_gerror(err, "erase the credential", why, whylen) : MM_OK;
}
