/*
 * cmd_doctor.c - doctor [--profile NAME] [--json]: every check of the setup
 * in one place, each saying what is wrong and how to fix it (doctor.h).
 * Order: what later checks depend on first (config, socket directory,
 * agent, store), then each profile (credential, identity provider, TLS,
 * clock, MCP server), then the browser opener and the MCP clients' files.
 * Exit status 0 only when nothing failed.
 */
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "doctor.h"
#include "doctor_agent.h"
#include "doctor_clients.h"
#include "doctor_local.h"
#include "doctor_net.h"
#include "helper.h"

#define NET_TIMEOUT_S 10

static void check_profile(mm_doctor *d, const mm_profile_cfg *p)
{
    d->profile = p->name;
    const cJSON *ps = d->status ? mm_dr_profile_status(d, p->name) : NULL;
    int usable = 0;
    if (ps)
        usable = mm_dr_credential(d, ps);
    else if (d->status)
        mm_dr_report(d, MM_DR_FAIL, "credential", "mimir-helper reload (the agent says why "
                     "when the file is refused)", "the agent has not loaded this profile: it "
                     "runs with an older or refused version of the config");
    else
        mm_dr_report(d, MM_DR_SKIP, "credential", NULL, "not checked: no agent");
    mm_dr_idp(d, p);
    mm_dr_mcp(d, p, usable);
    d->profile = NULL;
}

static int run_doctor(mm_opts *o)
{
    mm_doctor d = {.json = o->json, .only = o->profile, .checks = cJSON_CreateArray(),
                   .timeout_s = o->timeout_s ? o->timeout_s : NET_TIMEOUT_S};
    ssize_t n = readlink("/proc/self/exe", d.self, sizeof(d.self) - 1);
    d.self[n > 0 ? n : 0] = '\0';
    mm_dr_config(&d);
    mm_dr_socket_dir(&d);
    mm_dr_agent(&d);
    mm_dr_store(&d);
    int seen = 0;
    for (size_t i = 0; d.have_cfg && i < d.cfg.nprofiles; i++)
        if (!d.only || !strcmp(d.only, d.cfg.profiles[i].name)) {
            check_profile(&d, &d.cfg.profiles[i]);
            seen = 1;
        }
    if (d.only && !seen)
        mm_dr_report(&d, MM_DR_FAIL, "profile", "see 'mimir-helper profile list'",
                     "no profile named \"%s\" in the config", d.only);
    mm_dr_browser(&d);
    mm_dr_clients(&d);
    if (d.json)
        mm_dr_print_json(&d);
    else
        printf("%s\n", d.failed ? "Some checks failed: see the fixes above." : "All checks passed.");
    int rc = d.failed ? 1 : 0;
    cJSON_Delete(d.checks);
    cJSON_Delete(d.status);
    if (d.have_cfg)
        mm_config_free(&d.cfg);
    return fflush(stdout) == 0 ? rc : 1;
}

const mm_command mm_cmd_doctor = {
    "doctor", run_doctor, "doctor [--profile NAME] [--json] [--timeout SEC]",
    "Check the whole setup and say what is wrong and how to fix it, one line per\n"
    "check (\u2713 passed, \u2717 failed with the fix, - not checked):\n"
    "  config            the file is valid, yours and not writable by others\n"
    "  socket directory  yours, mode 0700 (else the helper refuses the agent)\n"
    "  agent             reachable (started if needed), this version, same config\n"
    "  store             keyring reachable, or the encrypted vault unlocked\n"
    "  per profile       credential present and its expiry; the identity\n"
    "                    provider's discovery, TLS (with the profile's ca_file)\n"
    "                    and clock; the MCP server answering an authenticated\n"
    "                    initialize (network checks run through mimir-proxy)\n"
    "  browser           $BROWSER or xdg-open, when there is a display\n"
    "  MCP client        each client config found here runs this helper by an\n"
    "                    absolute path that exists\n"
    "  --json          one JSON document: {\"ok\", \"failed\", \"checks\": [{\"check\",\n"
    "                  \"profile\", \"status\": pass|fail|skip, \"message\", \"fix\"}]}\n"
    "  --timeout SEC   deadline of each network check (default 10)\n"
    "Exit status 0 only when no check failed.\n",
    "json"};
