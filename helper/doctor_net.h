/*
 * doctor_net.h - the network checks of `mimir-helper doctor`, run through
 * mimir-proxy (next to this helper), which holds the HTTP client: the
 * helper links no libcurl.  For a profile: its identity provider's
 * discovery document (reachable, TLS verified with the profile's CA file,
 * the IdP's clock against ours) with `mimir-proxy --doctor-idp`, and the
 * MCP server answering an authenticated `initialize` sent through the
 * proxy itself, exactly as an MCP client's would be.
 */
#ifndef MM_DOCTOR_NET_H
#define MM_DOCTOR_NET_H

#include "doctor.h"

void mm_dr_idp(mm_doctor *d, const mm_profile_cfg *p);

/* has_credential: the credential check passed (else this is skipped). */
void mm_dr_mcp(mm_doctor *d, const mm_profile_cfg *p, int has_credential);

#endif
