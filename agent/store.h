/*
 * store.h - the keyring store: one Secret Service item per profile.
 *
 * Schema "io.mimir.Credential", attributes profile + issuer + client_id
 * (empty strings for api-key profiles), so `secret-tool lookup profile
 * NAME` finds an item.  The secret is a small JSON document:
 *   {"v":1,"kind":"refresh_token"|"api_key","secret":"...",
 *    "subject":"...","scope":"...","updated_at":1790000000}
 *
 * These calls block (D-Bus round trips, maybe an unlock prompt): call them
 * only from worker jobs.  There is no plaintext fallback: when no Secret
 * Service answers, MM_ERR_STORE_UNAVAILABLE says so.
 */
#ifndef MM_STORE_H
#define MM_STORE_H

#include <stddef.h>

#include "mimir/err.h"
#include "secret.h"

typedef struct {
    char profile[65];
    char issuer[512];
    char client_id[256];
} mm_store_key;

/* Found: *doc set (guarded memory).  Absent: MM_OK and *doc NULL. */
mm_err mm_store_load(const mm_store_key *k, mm_secret **doc, char *why, size_t whylen);
/* Replace the item atomically (Secret Service replaces on identical attributes). */
mm_err mm_store_save(const mm_store_key *k, const mm_secret *doc, char *why, size_t whylen);
/* Absent item is not an error. */
mm_err mm_store_erase(const mm_store_key *k, char *why, size_t whylen);

#endif
