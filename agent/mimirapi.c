/* mimirapi.c - Mimir's own authentication API (see mimirapi.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "jwt.h"
#include "mimirapi.h"
#include "mimir/proto.h"
#include "policy.h"

mm_err mm_mimir_url(const char *server_url, const char *path, char *out, size_t len)
{
    CURLU *u = curl_url();
    char *origin = NULL;
    mm_err e = MM_ERR_CONFIG;
    /* The same parser that will fetch it: path, query and fragment dropped. */
    if (u && curl_url_set(u, CURLUPART_URL, server_url, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_PATH, path, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_QUERY, NULL, 0) == CURLUE_OK &&
        curl_url_set(u, CURLUPART_FRAGMENT, NULL, 0) == CURLUE_OK &&
        curl_url_get(u, CURLUPART_URL, &origin, 0) == CURLUE_OK)
        e = snprintf(out, len, "%s", origin) < (int)len ? MM_OK : MM_ERR_CONFIG;
    curl_free(origin);
    curl_url_cleanup(u);
    return e;
}

mm_err mm_mimir_parse_config(const mm_http_resp *r, const char *url, mm_mimir_config *c,
                             char *why, size_t whylen)
{
    memset(c, 0, sizeof(*c));
    cJSON *doc = r->status == 200 ? mm_json_parse(r->body, r->len) : NULL;
    if (!cJSON_IsObject(doc)) {
        snprintf(why, whylen, "%s answered %s: is this a Mimir server?", url,
                 r->status == 200 ? "something that is not a JSON object" : "no auth config");
        cJSON_Delete(doc);
        return MM_ERR_IDP;
    }
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(doc, "devLoginEnabled");
    const cJSON *prov = cJSON_GetObjectItemCaseSensitive(doc, "oauthProviders");
    c->dev_login = cJSON_IsTrue(dev);
    if (cJSON_IsArray(prov) && cJSON_GetArraySize(prov) > 0)
        c->providers = cJSON_Duplicate(prov, 1);
    cJSON_Delete(doc);
    return MM_OK;
}

void mm_mimir_config_free(mm_mimir_config *c)
{
    cJSON_Delete(c->providers);
    memset(c, 0, sizeof(*c));
}

void mm_mimir_password_body(mm_buf *b, const char *username, const char *password)
{
    cJSON *j = cJSON_CreateObject();
    cJSON_AddStringToObject(j, "grant_type", "password");
    cJSON_AddStringToObject(j, "username", username);
    cJSON_AddStringToObject(j, "password", password);
    char *s = cJSON_PrintUnformatted(j);
    if (s)
        mm_buf_append(b, s, strlen(s));
    else
        b->oom = 1;
    cJSON_free(s); /* wiping free */
    cJSON_Delete(j);
}

mm_err mm_mimir_parse_token(const mm_http_resp *r, time_t sent_at, mm_tokens *t, char *why,
                            size_t whylen)
{
    mm_err e = mm_oauth_parse_token(r, sent_at, t, why, whylen);
    if (e != MM_OK)
        return e;
    mm_jwt_claims c;
    if (mm_jwt_peek(t->access->data, &c) == 0 && c.exp) {
        /* The server's own word, clamped like any lifetime. */
        int64_t life = mm_policy_lifetime((double)(c.exp - sent_at));
        t->expires_at = life > 0 ? sent_at + (time_t)life : sent_at + MM_POLICY_LIFETIME_MIN;
    } else if (!t->lifetime_given) {
        t->expires_at = 0; /* no exp, no expires_in: the token does not expire */
    }
    mm_jwt_claims_free(&c);
    return MM_OK;
}
