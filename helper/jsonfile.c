/* jsonfile.c - safe edits of another program's JSON file (see jsonfile.h). */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helper.h"
#include "jsonfile.h"
#include "mimir/paths.h"
#include "pretty.h"

/* Client configs are a few KiB: the cap only keeps a wrong file from being read whole. */
#define JSONFILE_MAX_BYTES (16 * 1024 * 1024)

static const char left_alone[] = "the file is left as it is";

static int resolve(mm_jsonfile *f, const char *path)
{
    struct stat st;
    if (snprintf(f->path, sizeof(f->path), "%s", path) >= (int)sizeof(f->path))
        return mm_fail(MM_ERR_USAGE, "%s: path too long", path);
    if (lstat(path, &st) < 0) {
        if (errno == ENOENT)
            return 0;
        return mm_fail(MM_ERR_IO, "%s: %s", path, strerror(errno));
    }
    /* A dotfile managed elsewhere (a symlink into a dotfiles repository)
     * stays a symlink: the edit goes to its target. */
    if (S_ISLNK(st.st_mode) && !realpath(path, f->path))
        return mm_fail(MM_ERR_IO, "%s is a symlink that leads nowhere (%s); %s", path,
                       strerror(errno), left_alone);
    f->exists = 1;
    return 0;
}

static int read_all(mm_jsonfile *f)
{
    int fd = open(f->path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return mm_fail(MM_ERR_IO, "%s: %s", f->path, strerror(errno));
    const char *bad = NULL;
    if (fstat(fd, &f->st) < 0)
        bad = strerror(errno);
    else if (!S_ISREG(f->st.st_mode))
        bad = "not a regular file";
    else if (f->st.st_uid != geteuid())
        bad = "owned by another user";
    else if (f->st.st_size > JSONFILE_MAX_BYTES)
        bad = "larger than 16 MiB";
    else if (!(f->bytes = malloc((size_t)f->st.st_size + 1)))
        bad = "out of memory";
    while (!bad && f->len <= (size_t)f->st.st_size) {
        ssize_t n = read(fd, f->bytes + f->len, (size_t)f->st.st_size + 1 - f->len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            bad = strerror(errno);
        if (n <= 0)
            break;
        f->len += (size_t)n;
    }
    if (!bad && f->len != (size_t)f->st.st_size)
        bad = "it changed while it was read; try again";
    close(fd);
    return bad ? mm_fail(MM_ERR_IO, "%s: %s; %s", f->path, bad, left_alone) : 0;
}

/* Where a parse failed, for people: line and column (1-based). */
static void position(const char *buf, const char *at, int *line, int *col)
{
    *line = 1;
    *col = 1;
    for (const char *p = buf; p < at; p++) {
        if (*p == '\n') {
            ++*line;
            *col = 1;
        } else if (((unsigned char)*p & 0xc0) != 0x80) {
            ++*col;
        }
    }
}

static int refuse_parse(const mm_jsonfile *f, const char *text, size_t len)
{
    const char *end = NULL;
    cJSON *j = cJSON_ParseWithLengthOpts(text, len, &end, 0);
    cJSON_Delete(j);
    if (j) /* cJSON took it: what mm_json_parse refused is in the bytes */
        return mm_fail(MM_ERR_CONFIG, "%s: holds NUL bytes, \\u0000 escapes, invalid UTF-8 or "
                       "a second document; %s", f->path, left_alone);
    const char *at = cJSON_GetErrorPtr();
    if (!at || at < text || at > text + len)
        at = text;
    int line, col;
    position(text, at, &line, &col);
    const char *hint = *at == '/' ? " (comments are not JSON)"
                       : (*at == '}' || *at == ']') ? " (a trailing comma?)"
                                                    : "";
    return mm_fail(MM_ERR_CONFIG, "%s: not valid JSON at line %d, column %d%s; %s. Fix it, or "
                   "add the entry by hand (without --write the entry is printed)",
                   f->path, line, col, hint, left_alone);
}

/* cJSON keeps numbers as doubles: an integer beyond 2^53 would come back
 * changed.  Such a file is refused rather than silently altered. */
static const cJSON *inexact_number(const cJSON *v)
{
    if (cJSON_IsNumber(v))
        return fabs(v->valuedouble) > 9007199254740992.0 ? v : NULL;
    for (const cJSON *c = v->child; c; c = c->next) {
        const cJSON *bad = inexact_number(c);
        if (bad)
            return bad;
    }
    return NULL;
}

static int parse(mm_jsonfile *f)
{
    const char *text = f->bytes;
    size_t len = f->len;
    if (len >= 3 && !memcmp(text, "\xef\xbb\xbf", 3)) { /* a BOM some editors write */
        text += 3;
        len -= 3;
    }
    if (strspn(text, " \t\r\n") >= len) { /* empty: nothing to keep */
        f->doc = cJSON_CreateObject();
        return f->doc ? 0 : mm_fail(MM_ERR_NOMEM, "out of memory");
    }
    if (!(f->doc = mm_json_parse(text, len)))
        return refuse_parse(f, text, len);
    if (!cJSON_IsObject(f->doc))
        return mm_fail(MM_ERR_CONFIG, "%s: the top level is not a JSON object; %s", f->path,
                       left_alone);
    const cJSON *bad = inexact_number(f->doc);
    if (bad)
        return mm_fail(MM_ERR_CONFIG, "%s: \"%s\" holds a number too large to rewrite exactly; "
                       "%s", f->path, bad->string ? bad->string : "(array item)", left_alone);
    return 0;
}

int mm_jsonfile_read(mm_jsonfile *f, const char *path)
{
    memset(f, 0, sizeof(*f));
    int rc = resolve(f, path);
    if (rc || !f->exists)
        return rc;
    if ((rc = read_all(f)) != 0)
        return rc;
    f->bytes[f->len] = '\0';
    return 0;
}

int mm_jsonfile_load(mm_jsonfile *f, const char *path)
{
    int rc = mm_jsonfile_read(f, path);
    if (rc || !f->exists) {
        f->doc = rc ? NULL : cJSON_CreateObject();
        return rc ? rc : f->doc ? 0 : mm_fail(MM_ERR_NOMEM, "out of memory");
    }
    return parse(f);
}

void mm_jsonfile_free(mm_jsonfile *f)
{
    free(f->bytes);
    cJSON_Delete(f->doc);
    f->bytes = NULL;
    f->doc = NULL;
}

/* mkdir -p, with the user's umask: these are the clients' own directories. */
static int make_dirs(const char *file)
{
    char dir[PATH_MAX];
    if (mm_dirname(file, dir, sizeof(dir)) != MM_OK)
        return -1;
    for (char *p = dir + 1;; p++) {
        if (*p != '/' && *p)
            continue;
        char c = *p;
        *p = '\0';
        if (mkdir(dir, 0777) < 0 && errno != EEXIST)
            return -1;
        if (!(*p = c))
            return 0;
    }
}

static void fsync_dir(const char *file)
{
    char dir[PATH_MAX];
    int fd = mm_dirname(file, dir, sizeof(dir)) == MM_OK
                 ? open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
}

static int same_file(const struct stat *a, const struct stat *b)
{
    return a->st_ino == b->st_ino && a->st_dev == b->st_dev && a->st_size == b->st_size &&
           a->st_mtim.tv_sec == b->st_mtim.tv_sec && a->st_mtim.tv_nsec == b->st_mtim.tv_nsec;
}

/* link() never replaces a file; a file system without hard links gets the
 * rename, which is atomic still. */
static int put_in_place(const char *tmp, const char *path, int create)
{
    if (!create)
        return rename(tmp, path);
    if (link(tmp, path) == 0)
        return 0;
    return errno == EEXIST ? -1 : rename(tmp, path);
}

/* Temp file next to path, fsync, rename over path.  When expect is set,
 * path must still be that file just before the rename, and when create is
 * set it must not exist yet (link refuses to replace): either way a client
 * that wrote its config meanwhile keeps its version. */
static int write_atomic(const char *path, const char *bytes, size_t len, mode_t mode,
                        const struct stat *expect, int create)
{
    char tmp[PATH_MAX + 16];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp-XXXXXX", path) >= (int)sizeof(tmp))
        return mm_fail(MM_ERR_IO, "%s: path too long", path);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return mm_fail(MM_ERR_IO, "cannot create a file next to %s: %s", path, strerror(errno));
    const char *bad = NULL;
    size_t off = 0;
    if (fchmod(fd, mode & 07777) < 0)
        bad = strerror(errno);
    while (!bad && off < len) {
        ssize_t n = write(fd, bytes + off, len - off);
        if (n < 0 && errno != EINTR)
            bad = strerror(errno);
        off += n > 0 ? (size_t)n : 0;
    }
    if (!bad && fsync(fd) < 0)
        bad = strerror(errno);
    close(fd);
    struct stat now;
    if (!bad && expect && (stat(path, &now) < 0 || !same_file(&now, expect)))
        bad = "it changed while it was being updated (is its program writing it?); try again";
    if (!bad && put_in_place(tmp, path, create) < 0)
        bad = errno == EEXIST ? "it appeared while it was being created; try again"
                              : strerror(errno);
    if (bad || create)
        unlink(tmp); /* after a link, the temp name is a second one */
    if (bad) {
        return mm_fail(MM_ERR_IO, "cannot write %s: %s; %s", path, bad, left_alone);
    }
    fsync_dir(path);
    return 0;
}

int mm_jsonfile_save(mm_jsonfile *f)
{
    char *text = mm_pretty_json(f->doc);
    size_t len = text ? strlen(text) : 0;
    char *body = text ? realloc(text, len + 2) : NULL;
    if (!body) {
        free(text);
        return mm_fail(MM_ERR_NOMEM, "out of memory");
    }
    memcpy(body + len, "\n", 2);
    int rc = mm_jsonfile_replace(f, body, len + 1);
    free(body);
    return rc;
}

int mm_jsonfile_replace(mm_jsonfile *f, const char *body, size_t len)
{
    int rc = 0;
    mode_t mode;
    if (f->exists) {
        char bak[PATH_MAX + 16];
        snprintf(bak, sizeof(bak), "%s" MM_JSONFILE_BACKUP, f->path);
        mode = f->st.st_mode;
        rc = write_atomic(bak, f->bytes, f->len, mode, NULL, 0);
    } else {
        mode_t mask = umask(0);
        umask(mask);
        mode = 0666 & ~mask;
        if (make_dirs(f->path) < 0)
            rc = mm_fail(MM_ERR_IO, "cannot create the directory for %s: %s", f->path,
                         strerror(errno));
    }
    if (!rc)
        rc = write_atomic(f->path, body, len, mode, f->exists ? &f->st : NULL, !f->exists);
    return rc;
}
