/* env.c - the agent's allow-listed environment (see env.h). */
#include <stdlib.h>
#include <string.h>

#include "mimir/env.h"

/* What the agent needs: where things are (HOME, XDG_*, PATH), the session
 * bus for the keyring, the display and $BROWSER for opening a login page,
 * TLS trust and proxies for reaching the IdP, locale and time zone, its own
 * settings (config.h names them; MIMIR_TEST_* drive the test suite's browser),
 * and systemd's socket activation.  Nothing else: a variable of the user's
 * that merely starts with MIMIR_ may hold a server secret. */
static const char *const names[] = {
    "HOME", "PATH", "USER", "LOGNAME", "SHELL", "LANG", "LANGUAGE", "TZ", "TMPDIR",
    "DISPLAY", "WAYLAND_DISPLAY", "XAUTHORITY", "DBUS_SESSION_BUS_ADDRESS", "BROWSER",
    "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE", "http_proxy", "https_proxy",
    "no_proxy", "HTTP_PROXY", "HTTPS_PROXY", "NO_PROXY", "ALL_PROXY", "all_proxy",
    "LISTEN_PID", "LISTEN_FDS", "LISTEN_FDNAMES", "NOTIFY_SOCKET", "GNOME_KEYRING_CONTROL",
    "MIMIR_AGENT_SOCK", "MIMIR_CONFIG", "MIMIR_URL", "MIMIR_OAUTH_ISSUER",
    "MIMIR_OAUTH_CLIENT_ID", "MIMIR_OAUTH_SCOPE", "MIMIR_OAUTH_AUDIENCE", NULL};
static const char *const prefixes[] = {"XDG_", "LC_", "MIMIR_TEST_", NULL};

int mm_env_allowed(const char *entry)
{
    size_t n = strcspn(entry, "=");
    if (!entry[n])
        return 0;
    for (int i = 0; names[i]; i++)
        if (strlen(names[i]) == n && !strncmp(entry, names[i], n))
            return 1;
    for (int i = 0; prefixes[i]; i++)
        if (!strncmp(entry, prefixes[i], strlen(prefixes[i])))
            return 1;
    return 0;
}

void mm_env_put(const char *entry)
{
    char name[256];
    size_t len = strcspn(entry, "=");
    if (entry[len] && len < sizeof(name)) {
        memcpy(name, entry, len);
        name[len] = '\0';
        setenv(name, entry + len + 1, 1);
    }
}

char **mm_env_filtered(void)
{
    extern char **environ;
    size_t n = 0, k = 0;
    for (char **e = environ; *e; e++)
        n++;
    char **env = calloc(n + 1, sizeof(*env));
    for (char **e = environ; env && *e; e++)
        if (mm_env_allowed(*e))
            env[k++] = *e;
    return env;
}

void mm_env_restrict(void)
{
    extern char **environ;
    size_t n = 0;
    for (char **e = environ; *e; e++)
        n++;
    char **keep = calloc(n + 1, sizeof(*keep));
    size_t k = 0;
    for (char **e = environ; *e; e++) {
        if (mm_env_allowed(*e) && keep)
            keep[k++] = *e; /* the original block outlives clearenv */
        else
            explicit_bzero(*e, strlen(*e));
    }
    clearenv();
    for (size_t i = 0; i < k; i++)
        mm_env_put(keep[i]);
    free(keep);
}
