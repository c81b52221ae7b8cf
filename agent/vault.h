/*
 * vault.h - the encrypted credential file, for machines without a Secret
 * Service (SSH sessions, servers, containers).  Never plaintext.
 *
 * One file ($XDG_DATA_HOME/mimir/vault, mode 0600, in a 0700 directory):
 *
 *   "MIMIRVLT" | version 1 | algorithm 1 | opslimit u64 | memlimit u64 |
 *   salt[16] | key check[16] | nonce[24] | ciphertext
 *
 * The key is derived from the user's passphrase with Argon2id
 * (crypto_pwhash, moderate limits; the limits and the salt are in the
 * header); the contents, a JSON list of items, are sealed with
 * XChaCha20-Poly1305 and the header as additional data.  The key check (a
 * keyed hash of a constant) tells a wrong passphrase from a damaged file:
 * tampering is reported as such, and a vault that fails to open is never
 * rewritten.  Every write goes to a temporary file that is synced and
 * renamed over the old one, then the directory is synced.
 *
 * The key lives in guarded memory from unlock to lock (or exit).  These
 * functions block (Argon2id takes about a second on purpose, and the disk):
 * call them on the worker thread only, like every other store call.
 */
#ifndef MM_VAULT_H
#define MM_VAULT_H

#include <stddef.h>

#include "mimir/err.h"
#include "secret.h"

/* 1 when the vault file exists. */
int mm_vault_exists(const char *path);
/* Derive the key and check it against the file.  create: make a new empty
 * vault when there is none (MM_ERR_LOGIN_REQUIRED-style refusal otherwise).
 * A wrong passphrase gives MM_ERR_BAD_PASSPHRASE. */
mm_err mm_vault_unlock(const char *path, const mm_secret *passphrase, int create, char *why,
                       size_t whylen);
void mm_vault_lock(void);
int mm_vault_unlocked(void);

/* The item of (profile, issuer, client_id): *doc NULL when absent.  All give
 * MM_ERR_STORE_LOCKED while locked. */
mm_err mm_vault_load(const char *path, const char *const id[3], mm_secret **doc, char *why,
                     size_t whylen);
mm_err mm_vault_save(const char *path, const char *const id[3], const mm_secret *doc,
                     char *why, size_t whylen);
mm_err mm_vault_erase(const char *path, const char *const id[3], char *why, size_t whylen);

#endif
