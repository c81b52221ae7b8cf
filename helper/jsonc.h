/*
 * jsonc.h - finding and removing one top-level member of a JSON-with-
 * comments document (VS Code's settings.json: // and block comments,
 * trailing commas) without rewriting anything else.  The scanner reports
 * byte offsets; a removal cuts exactly the member, one comma and, when the
 * member stood alone on its line, that line: every other byte (comments,
 * order, indentation, line endings) stays as it was.
 */
#ifndef MM_JSONC_H
#define MM_JSONC_H

#include <stddef.h>

#define MM_JSONC_NONE ((size_t)-1)

/* Offsets into the document of one member "key": value. */
typedef struct {
    size_t key;         /* the key's opening quote */
    size_t key_end;     /* one past its closing quote */
    size_t value;       /* the value's first byte */
    size_t value_end;   /* one past the value's last byte */
    size_t comma_after; /* the comma that follows it, or MM_JSONC_NONE */
    size_t comma_before;/* the comma that ends the member before it, or MM_JSONC_NONE */
} mm_jsonc_member;

/* Scan buf, which must hold one object.  Returns how many top-level members
 * are named key (the last of them in *m, the one a JSON reader takes), or
 * -1 when buf is not such a document (*err_at: the offset where it stopped
 * making sense). */
int mm_jsonc_find(const char *buf, size_t len, const char *key, mm_jsonc_member *m,
                  size_t *err_at);

/* The member's value when it is a JSON string, decoded (malloc'd; the caller
 * wipes and frees it); NULL when it is something else. */
char *mm_jsonc_string(const char *buf, const mm_jsonc_member *m);

/* Cut m out of buf in place (see above); returns the new length. */
size_t mm_jsonc_remove(char *buf, size_t len, const mm_jsonc_member *m);

#endif
