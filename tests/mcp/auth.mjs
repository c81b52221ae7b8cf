// The test MCP server's credential checks: it accepts what Mimir accepts.
//
// makeAuth(options) returns { check(req) -> Promise<result>, routes(req, res) -> bool,
// control(route, body) -> answer | undefined, stats() }:
//   result is {ok: true, kind, who, credential} or {ok: false, reason};
//   routes answers requests that belong to the auth layer itself (Mimir's
//   /auth/config and /auth/token, the RFC 9728 metadata) and returns true when
//   it did.
// Verifiers are tried in order; the first that recognises a credential in
// the request decides.
//
// Mimir's own authentication (options.mimir; every part can be switched at run
// time through control('auth' | 'users', body)):
//   GET  /auth/config   {"devLoginEnabled": bool, "oauthProviders": [{"name","url",
//                       "displayName"}]}: the test IdP (options.issuer) is listed when
//                       providers is on; both empty/false when security is off
//   POST /auth/token    {"grant_type":"password","username","password"} -> 200
//                       {"access_token" (an HS256 JWT: sub, iat, exp when ttl > 0),
//                       "token_type":"Bearer","scope":"mcp"[,"expires_in" when ttl > 0]};
//                       a wrong password: 401 {"error":"invalid_grant"}; dev login off:
//                       404
//   GET  /.well-known/oauth-protected-resource[/mcp]  RFC 9728 metadata naming the
//                       test IdP, when prm is on (404 otherwise)
//   Bearer JWTs signed with the server's secret are Mimir's own (checked with no
//   clock tolerance: an expired one is refused); other Bearer tokens go to the
//   IdP's userinfo endpoint (when an issuer is given), X-API-Key to the key.
//   With security off every request is accepted, whatever it carries.
//   control('auth', {security, dev_login, providers, prm, token_ttl}) switches
//   these; control('users', {name, password}) adds a user or changes a password
//   (password null removes the user).
//   stats(): {token_grants, token_refused, mimir_jwt_ok, mimir_jwt_fail}.
import { randomBytes } from 'node:crypto';

import { SignJWT, jwtVerify, decodeProtectedHeader } from 'jose';

// The token of `Authorization: Bearer <t>`, or null.
function bearerToken(req) {
  const h = req.headers.authorization;
  return typeof h === 'string' && /^Bearer\s+/i.test(h) ? h.replace(/^Bearer\s+/i, '') : null;
}

// `Authorization: Bearer <t>` valid at the identity provider's userinfo
// endpoint: how Mimir validates IdP tokens.  No caching: a token revoked or
// expired at the IdP is refused on the very next request.
function bearerAtUserinfo(issuer) {
  const userinfo = new URL('/me', issuer).toString();
  return async (req) => {
    const token = bearerToken(req);
    if (token === null) return null;
    let r;
    try {
      r = await fetch(userinfo, { headers: { authorization: `Bearer ${token}` } });
    } catch (e) {
      return { ok: false, reason: `userinfo unreachable: ${e.message}` };
    }
    const body = await r.text();
    if (r.status !== 200) return { ok: false, reason: `userinfo said ${r.status}` };
    let sub;
    try {
      ({ sub } = JSON.parse(body));
    } catch {
      return { ok: false, reason: 'userinfo answer is not JSON' };
    }
    return { ok: true, kind: 'bearer', who: sub, credential: token };
  };
}

// `X-API-Key: <key>` equal to the key given at start.
function apiKey(key) {
  return async (req) => {
    const k = req.headers['x-api-key'];
    if (typeof k !== 'string') return null;
    return k === key ? { ok: true, kind: 'api-key', who: 'api-key', credential: k }
      : { ok: false, reason: 'wrong API key' };
  };
}

// Mimir's own HS256 JWTs (what /auth/token issues).  A Bearer token that is
// not an HS256 JWT is left to the next verifier (the IdP's userinfo).
function mimirJwt(m) {
  return async (req) => {
    const token = bearerToken(req);
    if (token === null) return null;
    let alg;
    try {
      ({ alg } = decodeProtectedHeader(token));
    } catch {
      return null;
    }
    if (alg !== 'HS256') return null;
    try {
      const { payload } = await jwtVerify(token, m.key, { algorithms: ['HS256'] });
      m.stats.mimir_jwt_ok += 1;
      return { ok: true, kind: 'mimir-jwt', who: payload.sub, credential: token };
    } catch (e) {
      m.stats.mimir_jwt_fail += 1;
      return { ok: false, reason: `Mimir token refused: ${e.code ?? e.message}` };
    }
  };
}

function sendJson(res, status, body) {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(JSON.stringify(body));
}

async function passwordGrant(m, req, res) {
  let body;
  try {
    body = JSON.parse((await m.readBody(req)) || '{}');
  } catch {
    return sendJson(res, 400, { error: 'invalid_request', error_description: 'JSON body expected' });
  }
  const { grant_type: grant, username, password } = body;
  if (grant !== 'password' || typeof username !== 'string' || typeof password !== 'string') {
    return sendJson(res, 400, { error: 'invalid_request', error_description: 'password grant expected' });
  }
  if (!m.users.has(username) || m.users.get(username) !== password) {
    m.stats.token_refused += 1;
    return sendJson(res, 401, { error: 'invalid_grant', error_description: 'Invalid username or password' });
  }
  let jwt = new SignJWT({ scope: 'mcp' }).setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setSubject(username).setIssuedAt().setJti(randomBytes(8).toString('hex'));
  if (m.ttl > 0) jwt = jwt.setExpirationTime(Math.floor(Date.now() / 1000) + m.ttl);
  const token = await jwt.sign(m.key);
  m.stats.token_grants += 1;
  const answer = { access_token: token, token_type: 'Bearer', scope: 'mcp' };
  if (m.ttl > 0) answer.expires_in = m.ttl;
  return sendJson(res, 200, answer);
}

function mimirRoutes(m, issuer, req, res) {
  const path = new URL(req.url, 'http://x').pathname;
  if (path === '/auth/config' && req.method === 'GET') {
    sendJson(res, 200, {
      devLoginEnabled: m.security && m.devLogin,
      oauthProviders: m.security && m.providers && issuer
        ? [{ name: 'test-idp', url: issuer, displayName: 'Test IdP' }] : [],
    });
    return true;
  }
  if (path === '/auth/token' && req.method === 'POST') {
    if (!m.security || !m.devLogin) {
      req.resume();
      sendJson(res, 404, { error: 'not_found', error_description: 'dev login is disabled' });
      return true;
    }
    passwordGrant(m, req, res).catch((e) => sendJson(res, 500, { error: String(e.message ?? e) }));
    return true;
  }
  if (path === '/.well-known/oauth-protected-resource'
      || path === '/.well-known/oauth-protected-resource/mcp') {
    req.resume();
    if (!m.security || !m.prm || !issuer) sendJson(res, 404, { error: 'not_found' });
    else {
      const { host } = req.headers;
      sendJson(res, 200, { resource: `http://${host}/mcp`, authorization_servers: [issuer],
        bearer_methods_supported: ['header'] });
    }
    return true;
  }
  return false;
}

function mimirControl(m, route, body) {
  if (route === 'auth') {
    if (typeof body.security === 'boolean') m.security = body.security;
    if (typeof body.dev_login === 'boolean') m.devLogin = body.dev_login;
    if (typeof body.providers === 'boolean') m.providers = body.providers;
    if (typeof body.prm === 'boolean') m.prm = body.prm;
    if (typeof body.token_ttl === 'number') m.ttl = body.token_ttl;
    return { ok: true, security: m.security, dev_login: m.devLogin, providers: m.providers,
      prm: m.prm, token_ttl: m.ttl };
  }
  if (route === 'users') {
    if (typeof body.name !== 'string') return { ok: false, error: 'name expected' };
    if (body.password === null) m.users.delete(body.name);
    else m.users.set(body.name, String(body.password));
    return { ok: true, users: [...m.users.keys()] };
  }
  return undefined;
}

// mimir: {security, users: [[name, password]...], ttl, devLogin, providers, prm, secret};
// readBody(req) -> Promise<string>: the server's own body reader (its limits, its stats).
export function makeAuth({ issuer, key, mimir = {}, readBody }) {
  const m = {
    readBody,
    security: mimir.security ?? true,
    users: new Map(mimir.users ?? []),
    ttl: mimir.ttl ?? 0,
    devLogin: mimir.devLogin ?? (mimir.users?.length > 0),
    providers: mimir.providers ?? false,
    prm: mimir.prm ?? false,
    key: new TextEncoder().encode(mimir.secret ?? randomBytes(32).toString('hex')),
    stats: { token_grants: 0, token_refused: 0, mimir_jwt_ok: 0, mimir_jwt_fail: 0 },
  };
  const verifiers = [mimirJwt(m)];
  if (issuer) verifiers.push(bearerAtUserinfo(issuer));
  if (key) verifiers.push(apiKey(key));
  return {
    async check(req) {
      if (!m.security) return { ok: true, kind: 'none', who: 'anonymous', credential: null };
      for (const v of verifiers) {
        const r = await v(req);
        if (r) return r;
      }
      return { ok: false, reason: 'no credential' };
    },
    routes(req, res) {
      return mimirRoutes(m, issuer, req, res);
    },
    control(route, body) {
      return mimirControl(m, route, body);
    },
    stats() {
      return { ...m.stats };
    },
    resetStats() {
      for (const k of Object.keys(m.stats)) m.stats[k] = 0;
    },
  };
}
