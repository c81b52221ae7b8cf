/* doctor_local.c - config, socket directory, browser opener (see doctor_local.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "doctor_local.h"
#include "mimir/paths.h"
#include "mimir/trust.h"

/* The rules common/config.c enforces, said before the agent says them. */
static int config_file_ok(mm_doctor *d, const char *path)
{
    struct stat st;
    char fix[4200];
    if (stat(path, &st) < 0) {
        if (errno == ENOENT)
            mm_dr_report(d, MM_DR_FAIL, "config",
                         "add a profile: 'mimir-helper login --server URL' (asks the server how "
                         "it signs in) or 'mimir-helper profile add NAME --url URL ...'",
                         "no config file at %s", path);
        else
            mm_dr_report(d, MM_DR_FAIL, "config", "check the path (MIMIR_CONFIG)",
                         "cannot read %s: %s", path, strerror(errno));
        return 0;
    }
    if (!S_ISREG(st.st_mode)) {
        mm_dr_report(d, MM_DR_FAIL, "config", "make it a regular file",
                     "%s is not a regular file", path);
        return 0;
    }
    if (st.st_uid != geteuid() && st.st_uid != 0) {
        snprintf(fix, sizeof(fix), "chown %u %s (or replace it with a file of your own)",
                 (unsigned)geteuid(), path);
        mm_dr_report(d, MM_DR_FAIL, "config", fix,
                     "%s belongs to uid %u, not to you: the agent refuses it", path,
                     (unsigned)st.st_uid);
        return 0;
    }
    if (st.st_mode & 022) {
        snprintf(fix, sizeof(fix), "chmod go-w %s", path);
        mm_dr_report(d, MM_DR_FAIL, "config", fix,
                     "%s is writable by %s (mode %04o): anyone who can write it could point "
                     "your logins elsewhere, so the agent refuses it", path,
                     (st.st_mode & 020) && (st.st_mode & 002) ? "group and others"
                     : (st.st_mode & 020)                     ? "its group"
                                                              : "others",
                     (unsigned)(st.st_mode & 07777));
        return 0;
    }
    return 1;
}

void mm_dr_config(mm_doctor *d)
{
    char path[4096], why[600];
    if (mm_config_path(path, sizeof(path)) != MM_OK) {
        mm_dr_report(d, MM_DR_FAIL, "config", "set HOME, or MIMIR_CONFIG to the file",
                     "cannot tell where the config file is (no HOME, no MIMIR_CONFIG)");
        return;
    }
    if (!config_file_ok(d, path))
        return;
    if (mm_config_load(path, &d->cfg, why, sizeof(why)) != MM_OK) {
        mm_dr_report(d, MM_DR_FAIL, "config", "correct the file as the message says, or "
                     "rewrite the profile with 'mimir-helper profile add'", "%s", why);
        return;
    }
    d->have_cfg = 1;
    if (!d->cfg.nprofiles) {
        mm_dr_report(d, MM_DR_FAIL, "config", "add one: 'mimir-helper login --server URL' or "
                     "'mimir-helper profile add NAME --url URL ...'", "%s has no profiles", path);
        return;
    }
    mm_dr_report(d, MM_DR_PASS, "config", NULL, "%s: valid, %zu profile%s (default %s), "
                 "yours and not writable by others", path, d->cfg.nprofiles,
                 d->cfg.nprofiles == 1 ? "" : "s",
                 d->cfg.default_profile ? d->cfg.default_profile : "none");
}

void mm_dr_socket_dir(mm_doctor *d)
{
    char sock[108], dir[108], why[600], fix[400];
    if (mm_socket_path(sock, sizeof(sock)) != MM_OK || mm_dirname(sock, dir, sizeof(dir)) != MM_OK) {
        mm_dr_report(d, MM_DR_FAIL, "socket directory", "set MIMIR_AGENT_SOCK to an absolute "
                     "path shorter than 108 bytes", "the agent's socket path is not usable");
        return;
    }
    mm_err e = mm_trust_socket_dir(sock, why, sizeof(why));
    if (e == MM_OK)
        mm_dr_report(d, MM_DR_PASS, "socket directory", NULL, "%s: yours, mode 0700", dir);
    else if (e == MM_ERR_IO)
        mm_dr_report(d, MM_DR_PASS, "socket directory", NULL, "%s does not exist yet: the "
                     "agent creates it (yours, mode 0700) when it starts", dir);
    else {
        snprintf(fix, sizeof(fix), "if %s is yours: chmod 700 %s; if not, remove it (or point "
                 "MIMIR_AGENT_SOCK into a private directory)", dir, dir);
        mm_dr_report(d, MM_DR_FAIL, "socket directory", fix, "%s", why);
    }
}

/* name on PATH (or a path) that we may execute: its path in buf. */
static int find_program(const char *name, char *buf, size_t len)
{
    if (strchr(name, '/')) {
        snprintf(buf, len, "%s", name);
        return access(buf, X_OK) == 0;
    }
    const char *path = getenv("PATH");
    for (const char *p = path ? path : "/usr/bin:/bin"; *p;) {
        size_t n = strcspn(p, ":");
        snprintf(buf, len, "%.*s/%s", (int)n, p, name);
        if (n && access(buf, X_OK) == 0)
            return 1;
        p += n + (p[n] == ':');
    }
    return 0;
}

void mm_dr_browser(mm_doctor *d)
{
    const char *b = getenv("BROWSER"), *disp = getenv("DISPLAY"), *way = getenv("WAYLAND_DISPLAY");
    char found[4096], first[1024];
    if (b && *b) {
        snprintf(first, sizeof(first), "%.*s", (int)strcspn(b, " \t"), b);
        if (find_program(first, found, sizeof(found)))
            mm_dr_report(d, MM_DR_PASS, "browser", NULL, "$BROWSER: %s", found);
        else
            mm_dr_report(d, MM_DR_FAIL, "browser", "point BROWSER at a browser, or unset it",
                         "$BROWSER is '%s', which cannot be run", b);
    } else if (!(disp && *disp) && !(way && *way)) {
        mm_dr_report(d, MM_DR_PASS, "browser", NULL, "no display: 'mimir-helper login' uses the "
                     "device grant (a code to enter in a browser anywhere)");
    } else if (find_program("xdg-open", found, sizeof(found))) {
        mm_dr_report(d, MM_DR_PASS, "browser", NULL, "xdg-open: %s", found);
    } else {
        mm_dr_report(d, MM_DR_FAIL, "browser", "install xdg-utils, set BROWSER, or sign in with "
                     "'mimir-helper login --device'", "no browser opener: neither $BROWSER nor "
                     "xdg-open");
    }
}
