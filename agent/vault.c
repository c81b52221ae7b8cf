/* vault.c - the encrypted credential file (see vault.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <sodium.h>

#include "mimir/paths.h"
#include "mimir/proto.h"
#include "vault.h"

#define MAGIC "MIMIRVLT"
#define SALT_LEN crypto_pwhash_SALTBYTES                       /* 16 */
#define CHECK_LEN 16
#define NONCE_LEN crypto_aead_xchacha20poly1305_ietf_NPUBBYTES /* 24 */
#define KEY_LEN crypto_aead_xchacha20poly1305_ietf_KEYBYTES    /* 32 */
#define HEADER_LEN (8 + 1 + 1 + 8 + 8 + SALT_LEN + CHECK_LEN + NONCE_LEN)
#define VAULT_MAX (4u * 1024 * 1024)

typedef struct {
    uint64_t ops, mem;
    unsigned char salt[SALT_LEN], check[CHECK_LEN], nonce[NONCE_LEN];
} header;

/* From unlock to lock; the worker thread is the only one that touches it. */
static unsigned char *vault_key; /* sodium_malloc'd, KEY_LEN */
static header vault_hdr;         /* of the file the key opened */

int mm_vault_unlocked(void) { return vault_key != NULL; }

int mm_vault_exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* ---- the header ---------------------------------------------------------- */

static void put_u64(unsigned char *p, uint64_t v)
{
    for (int i = 0; i < 8; i++)
        p[i] = (unsigned char)(v >> (8 * i));
}

static uint64_t get_u64(const unsigned char *p)
{
    uint64_t v = 0;
    for (int i = 7; i >= 0; i--)
        v = v << 8 | p[i];
    return v;
}

static void header_write(const header *h, unsigned char out[HEADER_LEN])
{
    memcpy(out, MAGIC, 8);
    out[8] = 1; /* version */
    out[9] = 1; /* Argon2id13 + XChaCha20-Poly1305 */
    put_u64(out + 10, h->ops);
    put_u64(out + 18, h->mem);
    memcpy(out + 26, h->salt, SALT_LEN);
    memcpy(out + 26 + SALT_LEN, h->check, CHECK_LEN);
    memcpy(out + 26 + SALT_LEN + CHECK_LEN, h->nonce, NONCE_LEN);
}

static int header_read(const unsigned char *in, size_t len, header *h)
{
    if (len < HEADER_LEN + crypto_aead_xchacha20poly1305_ietf_ABYTES ||
        memcmp(in, MAGIC, 8) || in[8] != 1 || in[9] != 1)
        return -1;
    h->ops = get_u64(in + 10);
    h->mem = get_u64(in + 18);
    memcpy(h->salt, in + 26, SALT_LEN);
    memcpy(h->check, in + 26 + SALT_LEN, CHECK_LEN);
    memcpy(h->nonce, in + 26 + SALT_LEN + CHECK_LEN, NONCE_LEN);
    /* Limits from the file are the file's own: refuse ones no vault of ours
     * has (we write MODERATE: 3 passes, 256 MiB), so a planted header cannot
     * hold the worker thread for minutes or ask for gigabytes. */
    return h->ops >= crypto_pwhash_OPSLIMIT_MIN && h->ops <= 4 * crypto_pwhash_OPSLIMIT_MODERATE &&
                   h->mem >= crypto_pwhash_MEMLIMIT_MIN &&
                   h->mem <= 4ull * crypto_pwhash_MEMLIMIT_MODERATE
               ? 0
               : -1;
}

static void key_check(const unsigned char *key, unsigned char out[CHECK_LEN])
{
    static const char what[] = "mimir vault key check v1";
    crypto_generichash(out, CHECK_LEN, (const unsigned char *)what, sizeof(what) - 1, key,
                       KEY_LEN);
}

/* ---- the file ------------------------------------------------------------------ */

/* Read the whole file into a wiping buffer. */
static mm_err file_read(const char *path, mm_buf *b, char *why, size_t whylen)
{
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size > VAULT_MAX ||
        mm_buf_reserve(b, (size_t)st.st_size, VAULT_MAX) < 0) {
        snprintf(why, whylen, "cannot read the vault %s: %s", path,
                 fd < 0 ? strerror(errno) : "not a regular file of at most 4 MiB");
        if (fd >= 0)
            close(fd);
        return MM_ERR_STORE;
    }
    ssize_t n = read(fd, b->buf, (size_t)st.st_size);
    close(fd);
    if (n != st.st_size) {
        snprintf(why, whylen, "cannot read the vault %s", path);
        return MM_ERR_STORE;
    }
    b->len = (size_t)n;
    return MM_OK;
}

static int sync_dir(const char *path)
{
    char dir[4096];
    if (mm_dirname(path, dir, sizeof(dir)) != MM_OK)
        return -1;
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = fd < 0 ? -1 : fsync(fd);
    if (fd >= 0)
        close(fd);
    return rc;
}

/* Seal plain under the vault key with a fresh nonce and replace the file
 * atomically: a crash leaves the old vault or the new one. */
static mm_err file_write(const char *path, const char *plain, size_t len, char *why,
                         size_t whylen)
{
    char dir[4096], tmp[4200];
    if (mm_dirname(path, dir, sizeof(dir)) != MM_OK ||
        mm_private_dir(dir, 1, why, whylen) != MM_OK)
        return MM_ERR_STORE;
    header h = vault_hdr;
    randombytes_buf(h.nonce, NONCE_LEN);
    size_t clen = len + crypto_aead_xchacha20poly1305_ietf_ABYTES;
    unsigned char *out = malloc(HEADER_LEN + clen);
    if (!out)
        return MM_ERR_NOMEM;
    header_write(&h, out);
    crypto_aead_xchacha20poly1305_ietf_encrypt(out + HEADER_LEN, NULL, (const unsigned char *)plain,
                                               len, out, HEADER_LEN, NULL, h.nonce, vault_key);
    snprintf(tmp, sizeof(tmp), "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0600);
    mm_err e = MM_OK;
    if (fd < 0 || write(fd, out, HEADER_LEN + clen) != (ssize_t)(HEADER_LEN + clen) ||
        fsync(fd) < 0 || rename(tmp, path) < 0 || sync_dir(path) < 0) {
        snprintf(why, whylen, "cannot write the vault %s: %s", path, strerror(errno));
        unlink(tmp);
        e = MM_ERR_STORE;
    } else {
        vault_hdr = h;
    }
    if (fd >= 0)
        close(fd);
    free(out);
    return e;
}

/* The vault file, read whole, and its header. */
static mm_err file_read_header(const char *path, mm_buf *b, header *h, char *why, size_t whylen)
{
    mm_err e = file_read(path, b, why, whylen);
    if (e == MM_OK && header_read((unsigned char *)b->buf, b->len, h) < 0) {
        snprintf(why, whylen, "%s is not a Mimir vault (or its header is damaged)", path);
        e = MM_ERR_STORE;
    }
    return e;
}

/* Open the file with the key: its contents, {"v":1,"items":[...]} (cJSON
 * wipes it when freed). */
static mm_err file_open(const char *path, cJSON **root, char *why, size_t whylen)
{
    mm_buf b = {0};
    header h;
    mm_err e = file_read_header(path, &b, &h, why, whylen);
    unsigned char check[CHECK_LEN];
    if (e == MM_OK) {
        key_check(vault_key, check);
        if (sodium_memcmp(check, h.check, CHECK_LEN) || h.ops != vault_hdr.ops ||
            h.mem != vault_hdr.mem || memcmp(h.salt, vault_hdr.salt, SALT_LEN)) {
            snprintf(why, whylen, "the vault %s was replaced since it was unlocked; unlock it "
                     "again", path);
            e = MM_ERR_STORE_LOCKED;
        }
    }
    size_t plen = e == MM_OK ? b.len - HEADER_LEN - crypto_aead_xchacha20poly1305_ietf_ABYTES : 0;
    char *plain = e == MM_OK ? sodium_malloc(plen + 1) : NULL;
    if (e == MM_OK && !plain)
        e = MM_ERR_NOMEM;
    if (e == MM_OK && crypto_aead_xchacha20poly1305_ietf_decrypt(
                          (unsigned char *)plain, NULL, NULL, (unsigned char *)b.buf + HEADER_LEN,
                          b.len - HEADER_LEN, (unsigned char *)b.buf, HEADER_LEN, h.nonce,
                          vault_key) != 0) {
        snprintf(why, whylen, "the vault %s failed authentication: it was altered or damaged. "
                 "It is left as it is; restore it from a backup or move it away and log in "
                 "again", path);
        e = MM_ERR_STORE;
    }
    if (e == MM_OK && !cJSON_IsArray(cJSON_GetObjectItemCaseSensitive(
                          *root = mm_json_parse(plain, plen), "items"))) {
        cJSON_Delete(*root);
        *root = NULL;
        snprintf(why, whylen, "the vault %s holds no item list", path);
        e = MM_ERR_STORE;
    }
    if (plain)
        sodium_free(plain);
    mm_buf_free(&b);
    return e;
}

static mm_err write_root(const char *path, const cJSON *root, char *why, size_t whylen)
{
    char *plain = cJSON_PrintUnformatted(root);
    if (!plain)
        return MM_ERR_NOMEM;
    mm_err e = file_write(path, plain, strlen(plain), why, whylen);
    cJSON_free(plain); /* wiping free */
    return e;
}

/* ---- unlock and lock ------------------------------------------------------------- */

void mm_vault_lock(void)
{
    if (vault_key)
        sodium_free(vault_key);
    vault_key = NULL;
}

static mm_err derive(const mm_secret *pass, header *h, unsigned char *key, char *why,
                     size_t whylen)
{
    if (crypto_pwhash(key, KEY_LEN, pass->data, pass->len, h->salt, h->ops, (size_t)h->mem,
                      crypto_pwhash_ALG_ARGON2ID13) != 0) {
        snprintf(why, whylen, "not enough memory to derive the vault key (Argon2id)");
        return MM_ERR_NOMEM;
    }
    return MM_OK;
}

static mm_err create(const char *path, const mm_secret *pass, unsigned char *key, char *why,
                     size_t whylen)
{
    header h = {.ops = crypto_pwhash_OPSLIMIT_MODERATE, .mem = crypto_pwhash_MEMLIMIT_MODERATE};
    randombytes_buf(h.salt, SALT_LEN);
    mm_err e = derive(pass, &h, key, why, whylen);
    if (e != MM_OK)
        return e;
    key_check(key, h.check);
    vault_key = key;
    vault_hdr = h;
    cJSON *root = cJSON_CreateObject();
    cJSON_AddNumberToObject(root, "v", 1);
    cJSON_AddArrayToObject(root, "items");
    e = write_root(path, root, why, whylen);
    cJSON_Delete(root);
    return e; /* on failure the caller frees key and restores the old one */
}

/* An existing vault: the header, the passphrase against its check, and
 * the contents must all open with the new key before it is kept. */
static mm_err open_existing(const char *path, const mm_secret *pass, unsigned char *key,
                            char *why, size_t whylen)
{
    mm_buf b = {0};
    header h;
    mm_err e = file_read_header(path, &b, &h, why, whylen);
    mm_buf_free(&b);
    unsigned char check[CHECK_LEN];
    if (e == MM_OK && (e = derive(pass, &h, key, why, whylen)) == MM_OK) {
        key_check(key, check);
        if (sodium_memcmp(check, h.check, CHECK_LEN) != 0) {
            snprintf(why, whylen, "wrong passphrase for the vault %s", path);
            e = MM_ERR_BAD_PASSPHRASE;
        }
    }
    if (e != MM_OK)
        return e;
    vault_key = key;
    vault_hdr = h;
    cJSON *root = NULL; /* prove the contents open, before saying yes */
    e = file_open(path, &root, why, whylen);
    cJSON_Delete(root);
    return e;
}

/* A failed unlock changes nothing: a wrong passphrase typed at an unlocked
 * vault must not lock it (every profile in it would stop working). */
mm_err mm_vault_unlock(const char *path, const mm_secret *pass, int want_create, char *why,
                       size_t whylen)
{
    unsigned char *key = sodium_malloc(KEY_LEN);
    if (!key)
        return MM_ERR_NOMEM;
    unsigned char *old_key = vault_key;
    header old_hdr = vault_hdr;
    vault_key = NULL;
    mm_err e;
    if (mm_vault_exists(path))
        e = open_existing(path, pass, key, why, whylen);
    else if (want_create)
        e = create(path, pass, key, why, whylen);
    else {
        snprintf(why, whylen, "there is no vault yet (%s); 'mimir-helper unlock' creates one",
                 path);
        e = MM_ERR_STORE_LOCKED;
    }
    if (e != MM_OK) {
        sodium_free(key);
        vault_key = old_key;
        vault_hdr = old_hdr;
        return e;
    }
    if (old_key)
        sodium_free(old_key);
    sodium_mprotect_readonly(vault_key);
    return MM_OK;
}

/* ---- items --------------------------------------------------------------------------- */

static int same_item(const cJSON *it, const char *const id[3])
{
    static const char *const names[3] = {"profile", "issuer", "client_id"};
    for (int i = 0; i < 3; i++) {
        const char *v = mm_json_str(it, names[i]);
        if (!v || strcmp(v, id[i]))
            return 0;
    }
    return 1;
}

static cJSON *find(cJSON *items, const char *const id[3])
{
    cJSON *it;
    cJSON_ArrayForEach(it, items) if (same_item(it, id)) return it;
    return NULL;
}

static mm_err need_key(char *why, size_t whylen)
{
    if (vault_key)
        return MM_OK;
    snprintf(why, whylen, "the credential vault is locked; run 'mimir-helper unlock'");
    return MM_ERR_STORE_LOCKED;
}

mm_err mm_vault_load(const char *path, const char *const id[3], mm_secret **doc, char *why,
                     size_t whylen)
{
    *doc = NULL;
    cJSON *root = NULL;
    mm_err e = need_key(why, whylen);
    if (e == MM_OK)
        e = file_open(path, &root, why, whylen);
    const char *d = e == MM_OK
        ? mm_json_str(find(cJSON_GetObjectItemCaseSensitive(root, "items"), id), "doc")
        : NULL;
    if (d && !(*doc = mm_secret_from_str(d)))
        e = MM_ERR_NOMEM;
    cJSON_Delete(root);
    return e;
}

/* Change the item of id (set it to doc, or drop it when doc is NULL) and
 * write the vault.  Nothing is written unless the old contents opened. */
static mm_err update(const char *path, const char *const id[3], const mm_secret *doc, char *why,
                     size_t whylen)
{
    cJSON *root = NULL;
    mm_err e = need_key(why, whylen);
    if (e == MM_OK)
        e = file_open(path, &root, why, whylen);
    if (e != MM_OK)
        return e;
    cJSON *items = cJSON_GetObjectItemCaseSensitive(root, "items");
    cJSON *old = find(items, id);
    if (old)
        cJSON_Delete(cJSON_DetachItemViaPointer(items, old));
    if (doc) {
        cJSON *it = cJSON_CreateObject();
        cJSON_AddStringToObject(it, "profile", id[0]);
        cJSON_AddStringToObject(it, "issuer", id[1]);
        cJSON_AddStringToObject(it, "client_id", id[2]);
        cJSON_AddStringToObject(it, "doc", doc->data);
        cJSON_AddItemToArray(items, it);
    }
    if (doc || old)
        e = write_root(path, root, why, whylen);
    cJSON_Delete(root);
    return e;
}

mm_err mm_vault_save(const char *path, const char *const id[3], const mm_secret *doc,
                     char *why, size_t whylen)
{
    return update(path, id, doc, why, whylen);
}

mm_err mm_vault_erase(const char *path, const char *const id[3], char *why, size_t whylen)
{
    return update(path, id, NULL, why, whylen);
}
