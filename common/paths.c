/* paths.c - socket/config path rules and the private-directory check. */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "mimir/paths.h"

static const char *env_abs(const char *name)
{
    const char *v = getenv(name);
    return (v && v[0] == '/') ? v : NULL;
}

/* snprintf's result: did it fit into len bytes? */
static mm_err fit(size_t len, int n)
{
    return (n < 0 || (size_t)n >= len) ? MM_ERR_CONFIG : MM_OK;
}

mm_err mm_socket_path(char *buf, size_t len)
{
    /* sun_path is the real limit; refuse early rather than truncate. */
    size_t max = sizeof(((struct sockaddr_un *)0)->sun_path);
    if (len > max)
        len = max;
    const char *v = getenv("MIMIR_AGENT_SOCK");
    if (v && v[0]) {
        if (v[0] != '/')
            return MM_ERR_CONFIG;
        return fit(len, snprintf(buf, len, "%s", v));
    }
    if ((v = env_abs("XDG_RUNTIME_DIR")))
        return fit(len, snprintf(buf, len, "%s/mimir/agent.sock", v));
    return fit(len, snprintf(buf, len, "/tmp/mimir-%u/agent.sock", (unsigned)getuid()));
}

mm_err mm_config_path(char *buf, size_t len)
{
    const char *v = getenv("MIMIR_CONFIG");
    if (v && v[0])
        return fit(len, snprintf(buf, len, "%s", v));
    if ((v = env_abs("XDG_CONFIG_HOME")))
        return fit(len, snprintf(buf, len, "%s/mimir/config.json", v));
    if ((v = env_abs("HOME")))
        return fit(len, snprintf(buf, len, "%s/.config/mimir/config.json", v));
    return MM_ERR_CONFIG;
}

mm_err mm_vault_path(char *buf, size_t len)
{
    const char *v;
    if ((v = env_abs("XDG_DATA_HOME")))
        return fit(len, snprintf(buf, len, "%s/mimir/vault", v));
    if ((v = env_abs("HOME")))
        return fit(len, snprintf(buf, len, "%s/.local/share/mimir/vault", v));
    return MM_ERR_CONFIG;
}

mm_err mm_dirname(const char *path, char *buf, size_t len)
{
    const char *slash = strrchr(path, '/');
    if (!slash)
        return fit(len, snprintf(buf, len, "."));
    if (slash == path)
        return fit(len, snprintf(buf, len, "/"));
    return fit(len, snprintf(buf, len, "%.*s", (int)(slash - path), path));
}

static mm_err mkdir_parents(const char *dir)
{
    char tmp[4096];
    if (fit(sizeof(tmp), snprintf(tmp, sizeof(tmp), "%s", dir)) != MM_OK)
        return MM_ERR_CONFIG;
    for (char *p = tmp + 1; *p; p++) {
        if (*p != '/')
            continue;
        *p = '\0';
        if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
            return MM_ERR_IO;
        *p = '/';
    }
    if (mkdir(tmp, 0700) < 0 && errno != EEXIST)
        return MM_ERR_IO;
    return MM_OK;
}

mm_err mm_private_dir(const char *dir, int create, char *why, size_t whylen)
{
    struct stat st;
    if (create && mkdir_parents(dir) != MM_OK) {
        snprintf(why, whylen, "cannot create %s: %s", dir, strerror(errno));
        return MM_ERR_IO;
    }
    /* lstat: a symlink planted by another user must not redirect us. */
    if (lstat(dir, &st) < 0) {
        int err = errno; /* callers tell "missing" (ENOENT) from the rest */
        snprintf(why, whylen, "%s: %s", dir, strerror(err));
        errno = err;
        return MM_ERR_IO;
    }
    if (!S_ISDIR(st.st_mode)) {
        snprintf(why, whylen, "%s is not a directory (symlinks are refused)", dir);
        return MM_ERR_CONFIG;
    }
    if (st.st_uid != geteuid()) {
        snprintf(why, whylen, "%s is owned by uid %u, not by us (uid %u)", dir,
                 (unsigned)st.st_uid, (unsigned)geteuid());
        return MM_ERR_CONFIG;
    }
    if (st.st_mode & 077) {
        snprintf(why, whylen, "%s has mode %03o; it must be 0700 (chmod 700 %s)", dir,
                 (unsigned)(st.st_mode & 0777), dir);
        return MM_ERR_CONFIG;
    }
    return MM_OK;
}

int mm_sibling_binary(const char *name, const char *env_var, char *buf, size_t len)
{
    const char *env = getenv(env_var);
    if (env && env[0]) {
        snprintf(buf, len, "%s", env);
        return 0;
    }
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof(self) - 1);
    if (n > 0) {
        self[n] = '\0';
        char *slash = strrchr(self, '/');
        if (slash) {
            snprintf(buf, len, "%.*s/%s", (int)(slash - self), self, name);
            if (access(buf, X_OK) == 0)
                return 0;
        }
    }
    snprintf(buf, len, "%s", name);
    return 1;
}
