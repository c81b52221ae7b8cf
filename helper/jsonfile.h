/*
 * jsonfile.h - read, change and safely rewrite a JSON file that belongs to
 * another program (an MCP client's config).  Nothing in it but what was
 * there before plus the change: a file that cannot be parsed, or that
 * holds something a rewrite would alter (a number beyond double
 * precision), is refused and left byte for byte as it was.  The rewrite
 * keeps a backup of the previous bytes, goes through a temp file, fsync
 * and rename, keeps the file's mode, follows a symlink to its target, and
 * gives up when the file changed while it was being edited.
 */
#ifndef MM_JSONFILE_H
#define MM_JSONFILE_H

#include <limits.h>
#include <stddef.h>
#include <sys/stat.h>

#include <cjson/cJSON.h>

typedef struct {
    char path[PATH_MAX]; /* the file written: symlinks resolved */
    int exists;
    struct stat st;      /* as read */
    char *bytes;         /* as read: what the backup holds */
    size_t len;
    cJSON *doc;          /* the parsed document; {} for a missing or empty file */
} mm_jsonfile;

#define MM_JSONFILE_BACKUP ".mimir.bak"

/* Load path (absolute).  Returns 0, or prints why and returns the exit
 * status.  Free with mm_jsonfile_free either way. */
int mm_jsonfile_load(mm_jsonfile *f, const char *path);

/* Write f->doc (2-space indented) in place of the file, creating missing
 * directories; when the file existed, its previous bytes go to
 * path MM_JSONFILE_BACKUP first.  Returns 0, or prints why and returns the
 * exit status (the file is then unchanged). */
int mm_jsonfile_save(mm_jsonfile *f);

/* Only read the bytes (f->doc stays NULL), for a file that is edited as
 * text rather than parsed (VS Code's settings.json, which has comments).
 * Returns 0, or prints why and returns the exit status. */
int mm_jsonfile_read(mm_jsonfile *f, const char *path);

/* Write body[0..len) in place of the file, as mm_jsonfile_save writes its
 * JSON (backup, temp file, fsync, rename, refused when the file changed
 * meanwhile). */
int mm_jsonfile_replace(mm_jsonfile *f, const char *body, size_t len);

void mm_jsonfile_free(mm_jsonfile *f);

#endif
