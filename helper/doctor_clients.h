/*
 * doctor_clients.h - `mimir-helper doctor`'s look at the MCP clients'
 * config files on this machine (the ones mcp-config writes, and Claude
 * Code's user file ~/.claude.json): every server entry that runs
 * mimir-helper (or mimir-proxy) must name it by an absolute path that
 * exists, and that path should be this helper.
 */
#ifndef MM_DOCTOR_CLIENTS_H
#define MM_DOCTOR_CLIENTS_H

#include "doctor.h"

void mm_dr_clients(mm_doctor *d);

#endif
