/*
 * doctor.h - `mimir-proxy --doctor-idp ISSUER [--ca-file FILE] [--timeout SEC]`:
 * the network half of `mimir-helper doctor`, which links no HTTP client
 * (its token path stays libc + cJSON).  Fetches the issuer's discovery
 * document the way the agent does (OpenID Connect, then RFC 8414), with
 * TLS verified against FILE when given (else the system's CAs), and prints
 * one JSON line:
 *   {"url":..., "ok":bool, "status":HTTP, "issuer_matches":bool,
 *    "tls":"verified"|"plain-loopback", "date":IdP's Date, "now":ours,
 *    "error":{"code":..., "message":...}}
 * Exit status 0 when the line was printed (whatever it says), 2 on usage.
 */
#ifndef MM_PROXY_DOCTOR_H
#define MM_PROXY_DOCTOR_H

/* argv[0] is "--doctor-idp". */
int mm_proxy_doctor_main(int argc, char **argv);

#endif
