/*
 * secmem.h - keeping secrets out of places they would outlive their use,
 * for every binary (libc only, so the helper's token path can afford it).
 */
#ifndef MIMIR_SECMEM_H
#define MIMIR_SECMEM_H

/* No core dumps, and no ptrace or /proc/PID/{mem,environ} by other
 * processes of the same user that are not our ancestors. */
void mm_secmem_nodump(void);

/* cJSON blocks are zeroed when freed: requests and replies carry tokens,
 * keys and passphrases through cJSON's strings and printed lines. */
void mm_secmem_wipe_json(void);

/* The free function those hooks use (for code that wraps it). */
void mm_secmem_free(void *p);

#endif
