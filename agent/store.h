/*
 * store.h - the keyring store: one Secret Service item per profile.
 *
 * Schema "io.mimir.Credential", attributes profile + issuer + client_id
 * (empty strings for profiles without them), so `secret-tool lookup profile
 * NAME` finds an item.  The secret is a small JSON document:
 *   {"v":1,"kind":"refresh_token"|"api_key"|...,"secret":"...",
 *    "subject":"...","scope":"...","updated_at":1790000000}
 *
 * Without a Secret Service the same items go to the encrypted vault file
 * (vault.h), never to plaintext.
 *
 * Store calls block (D-Bus round trips, maybe an unlock prompt), so they
 * run on the worker thread, never on the loop, in submission order (a
 * logout's erase can never overtake the save of a token submitted before
 * it).  Each call has a deadline; mm_store_cancel_all() cuts every call
 * short when the agent stops.  There is no plaintext fallback: when no
 * Secret Service answers, MM_ERR_STORE_UNAVAILABLE says so.
 */
#ifndef MM_STORE_H
#define MM_STORE_H

#include <stddef.h>

#include "loop.h"
#include "mimir/err.h"
#include "secret.h"
#include "worker.h"

typedef struct {
    char profile[65];
    char issuer[512];
    char client_id[256];
} mm_store_key;

typedef enum {
    MM_STORE_LOAD,
    MM_STORE_SAVE,
    MM_STORE_ERASE,
    MM_STORE_UNLOCK, /* the file store: derive its key (doc: the passphrase) */
    MM_STORE_UNLOCK_CREATE, /* ... creating the vault when there is none */
    MM_STORE_LOCK,   /* the file store: forget its key */
} mm_store_op;

/* Where credentials go.  AUTO: the Secret Service when the session bus has
 * one the first time it is needed, else the encrypted file (vault.h); the
 * choice holds for the agent's life.  The config's "store" picks one. */
typedef enum { MM_STORE_AUTO, MM_STORE_KEYRING, MM_STORE_FILE } mm_store_backend;

/* Once, on the loop thread, before any other thread is started. */
void mm_store_init(void);

/* Loop thread, before the first job (and on reload: later jobs follow it). */
void mm_store_configure(mm_store_backend b, const char *vault_path);
/* What the jobs that completed so far used ("keyring" or "file"; NULL when
 * no job has run yet), and whether the file store is unlocked. */
const char *mm_store_in_use(void);

/* For log lines: "file store" when the last call used it, else "keyring". */
const char *mm_store_label(void);
int mm_store_unlocked(void);

/* On the loop thread.  LOAD: doc is the item (NULL when there is none),
 * freed after done returns.  why is set when e != MM_OK. */
typedef void (*mm_store_done)(void *arg, mm_err e, const char *why, const mm_secret *doc);

/* Queue op for key k; SAVE takes doc (consumed).  timeout_ms bounds the
 * call (an unlock prompt included).  done always runs, exactly once, from a
 * later loop turn. */
void mm_store_submit(mm_worker *w, mm_loop *loop, mm_store_op op, const mm_store_key *k,
                     mm_secret *doc, int timeout_ms, mm_store_done done, void *arg);

/* Cancel every call queued or running (the agent is stopping): their done
 * callbacks run with MM_ERR_TIMEOUT. */
void mm_store_cancel_all(void);

#endif
