#!/usr/bin/env node
// A real OpenID Provider (oidc-provider) on 127.0.0.1 for Mimir's tests, plus a
// small control API under /__test/ for fault injection and ID token forgery.
//
//   node tests/idp/idp.mjs [--port N] [--access-ttl SECONDS] [--rotate-refresh]
//                          [--cert FILE --key FILE] [--exit-on-stdin-eof]
//                          [--host 127.0.0.X]
//
// When ready it prints ONE line of JSON on stdout:
//   {"issuer":"http://127.0.0.1:41234","client_id":"mimir-cli","port":41234}
// Everything else goes to stderr.

import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { parseArgs } from 'node:util';

// oidc-provider prints its notices with console.info (stdout); stdout is reserved
// for the single JSON line the harness reads.
console.log = console.info = console.error;

const { default: Provider } = await import('oidc-provider');
const jose = await import('jose');

const { values: opts } = parseArgs({
  options: {
    port: { type: 'string', default: '0' },
    'access-ttl': { type: 'string', default: '3600' },
    'rotate-refresh': { type: 'boolean', default: false },
    cert: { type: 'string' },
    key: { type: 'string' },
    'exit-on-stdin-eof': { type: 'boolean', default: false },
    // Another loopback address (e.g. 127.0.0.2) for clients that treat
    // 127.0.0.1 specially: code-server rewrites 127.0.0.1 URLs that VS Code
    // opens to its own port proxy.
    host: { type: 'string', default: '127.0.0.1' },
  },
});
if (!!opts.cert !== !!opts.key) {
  console.error('idp: --cert and --key go together');
  process.exit(2);
}
const accessTtl = Number(opts['access-ttl']);
if (!Number.isInteger(accessTtl) || accessTtl <= 0) {
  console.error('idp: --access-ttl wants a positive integer');
  process.exit(2);
}

// ---- keys: generated here so the control API can forge ID tokens ---------------
async function newRsaKey(kid) {
  const { privateKey } = await jose.generateKeyPair('RS256', { extractable: true });
  const jwk = { ...(await jose.exportJWK(privateKey)), kid, alg: 'RS256', use: 'sig' };
  const { d, p, q, dp, dq, qi, ...pub } = jwk;
  return { kid, privateKey, jwk, pub };
}
const signingKey = await newRsaKey(`k-${randomBytes(6).toString('hex')}`);
// Same kid as the real key but different material: a forged signature that a
// client looking keys up by kid alone would wrongly try to verify.
const impostorKey = await newRsaKey(signingKey.kid);
// Keys made by idtoken mode "rotated_key": each forgery gets a kid no client has seen,
// and all of them stay published in /jwks for the life of the process.
const rotatedKeys = [];

// ---- test state -------------------------------------------------------------------
const freshStats = () => ({
  authorization_code_grants: 0,
  refresh_grants: 0,
  device_code_grants: 0,
  token_requests: 0,
  revocations: 0,
  jwks_requests: 0,
  discovery_requests: 0,
  faults_served: 0,
});
let stats = freshStats();
let faults = {}; // endpoint name -> { mode, status, count, grant_type, error, retry_after }
let idtokenMode = null;
let dropS256 = false;
// Rewrites of successful token responses: { fields: {name: value}, count, grant_type }.
let tokenOverride = null;

const ENDPOINTS = {
  token: '/token',
  jwks: '/jwks',
  revocation: '/token/revocation',
  device_authorization: '/device/auth',
  userinfo: '/me',
};
const DISCOVERY = ['/.well-known/openid-configuration', '/.well-known/oauth-authorization-server'];
const endpointOf = (path) => (DISCOVERY.includes(path)
  ? 'discovery'
  : Object.keys(ENDPOINTS).find((k) => ENDPOINTS[k] === path));

const GRANT_STAT = {
  authorization_code: 'authorization_code_grants',
  refresh_token: 'refresh_grants',
  'urn:ietf:params:oauth:grant-type:device_code': 'device_code_grants',
};

async function readRaw(req) {
  const chunks = [];
  for await (const c of req.iterator({ destroyOnReturn: false })) chunks.push(c);
  return Buffer.concat(chunks).toString('utf8');
}

function sendJson(ctx, status, body) {
  ctx.status = status;
  ctx.type = 'application/json';
  ctx.body = JSON.stringify(body);
}

// Returns true when the fault answered (or swallowed) the request.
function applyFault(ctx, name, grantType) {
  const f = faults[name];
  if (!f || f.count === 0) return false;
  if (f.grant_type && f.grant_type !== grantType) return false;
  if (f.count > 0) f.count -= 1;
  stats.faults_served += 1;
  ctx.set('Cache-Control', 'no-store');
  switch (f.mode) {
    case 'delay':
      // Answered normally, only late (testMiddleware waits): a slow IdP.
      ctx.state.faultDelayMs = f.ms ?? 1000;
      return false;
    case 'hang':
      // Koa leaves the response alone: the client's socket stays open, unanswered.
      ctx.respond = false;
      return true;
    case 'garbage':
      ctx.status = 200;
      ctx.type = 'text/html';
      ctx.body = '<html>not json';
      return true;
    case 'truncated':
      ctx.status = 200;
      ctx.type = 'application/json';
      ctx.body = '{"access_token":"abc';
      return true;
    default: // "status"
      if (f.retry_after !== undefined) ctx.set('Retry-After', String(f.retry_after));
      sendJson(ctx, f.status, {
        error: f.error || (f.status >= 500 ? 'server_error' : 'invalid_request'),
        error_description: `injected fault (${f.status})`,
      });
      return true;
  }
}

async function forgeIdToken(original, mode) {
  const header = jose.decodeProtectedHeader(original);
  const claims = jose.decodeJwt(original);
  const now = Math.floor(Date.now() / 1000);
  let key = signingKey;
  switch (mode) {
    case 'wrong_key': key = impostorKey; break;
    case 'wrong_aud': claims.aud = 'mimir-other'; break;
    case 'wrong_nonce': claims.nonce = 'not-the-nonce'; break;
    case 'wrong_iss': claims.iss = 'http://evil.example'; break;
    case 'expired':
      // Far beyond any clock-skew allowance a client might grant.
      claims.exp = now - 7200;
      claims.iat = now - 7200 - 300;
      if (claims.auth_time) claims.auth_time = claims.iat;
      break;
    case 'rotated_key':
      key = await newRsaKey(`k-${randomBytes(6).toString('hex')}`);
      rotatedKeys.push(key);
      break;
    default: throw new Error(`unknown idtoken mode ${mode}`);
  }
  return new jose.SignJWT(claims)
    .setProtectedHeader({ ...header, alg: 'RS256', kid: key.kid })
    .sign(key.privateKey);
}

const IDTOKEN_MODES = ['wrong_key', 'wrong_aud', 'wrong_nonce', 'expired', 'wrong_iss', 'rotated_key'];
const FAULT_MODES = ['status', 'hang', 'garbage', 'truncated', 'delay'];

async function control(ctx) {
  const route = ctx.path.slice('/__test/'.length);
  let body = {};
  if (ctx.method === 'POST') {
    const raw = await readRaw(ctx.req);
    try {
      body = raw ? JSON.parse(raw) : {};
    } catch {
      return sendJson(ctx, 400, { error: 'body is not JSON' });
    }
  }
  const bad = (msg) => sendJson(ctx, 400, { error: msg });

  if (route === 'stats' && ctx.method === 'GET') return sendJson(ctx, 200, stats);
  if (ctx.method !== 'POST') return sendJson(ctx, 404, { error: 'unknown control route' });

  switch (route) {
    case 'reset':
      stats = freshStats();
      faults = {};
      idtokenMode = null;
      dropS256 = false;
      tokenOverride = null;
      return sendJson(ctx, 200, { ok: true });
    case 'token_override': {
      // Replace fields of the next `count` successful token responses (-1: all;
      // null fields: stop), e.g. an absurd expires_in or a hostile access_token.
      const { fields = null, count = 1, grant_type: gt } = body;
      if (fields !== null && (typeof fields !== 'object' || Array.isArray(fields))) {
        return bad('fields must be an object or null');
      }
      if (!Number.isInteger(count) || count < -1) return bad('count must be an integer >= -1');
      tokenOverride = fields ? { fields, count, grant_type: gt } : null;
      return sendJson(ctx, 200, { ok: true });
    }
    case 'fault': {
      const { endpoint, mode = 'status' } = body;
      if (endpoint !== 'discovery' && !ENDPOINTS[endpoint]) return bad(`unknown endpoint ${endpoint}`);
      if (!FAULT_MODES.includes(mode)) return bad(`unknown mode ${mode}`);
      const count = body.count ?? 1;
      if (!Number.isInteger(count) || count < -1) return bad('count must be an integer >= -1');
      const status = body.status ?? 503;
      if (mode === 'status' && !(Number.isInteger(status) && status >= 400 && status <= 599)) {
        return bad('status must be 4xx or 5xx');
      }
      faults[endpoint] = {
        mode, status, count, grant_type: body.grant_type, error: body.error, retry_after: body.retry_after,
        ms: body.ms,
      };
      return sendJson(ctx, 200, { ok: true, fault: faults[endpoint] });
    }
    case 'idtoken':
      if (body.mode !== null && !IDTOKEN_MODES.includes(body.mode)) return bad(`unknown mode ${body.mode}`);
      idtokenMode = body.mode;
      return sendJson(ctx, 200, { ok: true });
    case 'discovery':
      dropS256 = !!body.drop_s256;
      return sendJson(ctx, 200, { ok: true });
    case 'revoke': {
      // Only this token, unlike /token/revocation, which ends the whole grant
      // (refresh token included): a server then refuses an access token whose
      // refresh token still works.
      const token = typeof body.token === 'string' ? body.token : '';
      const found = (await provider.AccessToken.find(token))
        || (await provider.RefreshToken.find(token));
      if (found) await found.destroy();
      return sendJson(ctx, 200, { ok: true, revoked: found ? found.kind : null });
    }
    case 'introspect': {
      const token = typeof body.token === 'string' ? body.token : '';
      // The provider's own models: a revoked or rotated-away token is gone or consumed.
      const found = (await provider.AccessToken.find(token))
        || (await provider.RefreshToken.find(token));
      const grant = found?.grantId ? await provider.Grant.find(found.grantId) : undefined;
      const active = !!(found && found.isValid && grant);
      return sendJson(ctx, 200, {
        active,
        kind: found ? found.kind : null,
        sub: found ? found.accountId : null,
        client_id: found ? found.clientId : null,
        scope: found ? found.scope ?? null : null,
        exp: found ? found.exp : null,
      });
    }
    default:
      return sendJson(ctx, 404, { error: 'unknown control route' });
  }
}

// ---- the provider ---------------------------------------------------------------
const nativeClient = (clientId) => ({
  client_id: clientId,
  application_type: 'native',
  token_endpoint_auth_method: 'none',
  redirect_uris: ['http://127.0.0.1/callback'],
  grant_types: ['authorization_code', 'refresh_token', 'urn:ietf:params:oauth:grant-type:device_code'],
  response_types: ['code'],
});

const makeProvider = (issuer) => new Provider(issuer, {
  clients: [nativeClient('mimir-cli'), nativeClient('mimir-other')],
  responseTypes: ['code'],
  jwks: { keys: [signingKey.jwk] },
  cookies: { keys: [randomBytes(32).toString('hex')] },
  scopes: ['openid', 'offline_access', 'profile', 'email'],
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  // Put the scope claims into the ID token too, so the agent can show who logged in.
  conformIdTokenClaims: false,
  async findAccount(_ctx, sub) {
    return {
      accountId: sub,
      async claims() {
        return { sub, name: sub, preferred_username: sub, email: `${sub}@example.test`, email_verified: true };
      },
    };
  },
  pkce: { required: () => true },
  features: {
    devInteractions: { enabled: true },
    deviceFlow: { enabled: true },
    revocation: { enabled: true },
    introspection: { enabled: true },
    rpInitiatedLogout: { enabled: false },
  },
  // offline_access alone is enough, as with most real IdPs (no prompt=consent needed).
  async issueRefreshToken(_ctx, client, code) {
    return client.grantTypeAllowed('refresh_token') && code.scopes.has('offline_access');
  },
  // The default rotates always for public clients; tests choose.
  rotateRefreshToken: opts['rotate-refresh'],
  // The default (15 s) lets userinfo accept access tokens that have expired:
  // a test proving "still works after expiry" could pass with a stale token.
  clockTolerance: 0,
  ttl: {
    AccessToken: accessTtl,
    IdToken: 3600,
    AuthorizationCode: 120,
    DeviceCode: 600,
    RefreshToken: 30 * 24 * 3600,
    Grant: 30 * 24 * 3600,
    Session: 30 * 24 * 3600,
    Interaction: 3600,
  },
});

async function testMiddleware(ctx, next) {
  if (ctx.path.startsWith('/__test/')) return control(ctx);

  const name = endpointOf(ctx.path);
  let grantType;
  if (name === 'token' && ctx.method === 'POST') {
    stats.token_requests += 1;
    // Read the form ourselves to learn grant_type before the provider runs;
    // oidc-provider then takes the already-read body from req.body.
    const raw = await readRaw(ctx.req);
    ctx.req.body = raw;
    grantType = new URLSearchParams(raw).get('grant_type') ?? undefined;
    if (GRANT_STAT[grantType]) stats[GRANT_STAT[grantType]] += 1;
  } else if (name === 'revocation' && ctx.method === 'POST') {
    stats.revocations += 1;
  } else if (name === 'jwks') {
    stats.jwks_requests += 1;
  } else if (name === 'discovery') {
    stats.discovery_requests += 1;
  }

  if (name && applyFault(ctx, name, grantType)) return undefined;
  if (ctx.state.faultDelayMs) await new Promise((r) => { setTimeout(r, ctx.state.faultDelayMs); });

  // oidc-provider drops offline_access from an authorization request unless prompt
  // includes consent (issueRefreshToken alone cannot bring it back: the scope is
  // gone before the grant exists). Asking for consent is what real IdPs do for
  // offline_access anyway, and each browser run is a fresh session that consents.
  if (ctx.path === '/auth' && ctx.method === 'GET') {
    const { scope, prompt } = ctx.query;
    const prompts = typeof prompt === 'string' ? prompt.split(' ').filter(Boolean) : [];
    if (typeof scope === 'string' && scope.split(' ').includes('offline_access')
        && !prompts.includes('none') && !prompts.includes('consent')) {
      ctx.query = { ...ctx.query, prompt: [...prompts, 'consent'].join(' ') };
    }
  }

  await next();

  if (name === 'discovery' && ctx.status === 200 && dropS256) {
    ctx.body = { ...ctx.body, code_challenge_methods_supported: ['plain'] };
  } else if (name === 'jwks' && ctx.status === 200 && rotatedKeys.length) {
    ctx.body = { keys: [...ctx.body.keys, ...rotatedKeys.map((k) => k.pub)] };
  }
  if (name === 'token' && ctx.status === 200 && tokenOverride && tokenOverride.count !== 0
      && (!tokenOverride.grant_type || tokenOverride.grant_type === grantType)) {
    if (tokenOverride.count > 0) tokenOverride.count -= 1;
    ctx.body = { ...ctx.body, ...tokenOverride.fields };
  }
  if (name === 'token' && ctx.status === 200 && idtokenMode && ctx.body?.id_token) {
    const mode = idtokenMode;
    idtokenMode = null;
    ctx.body = { ...ctx.body, id_token: await forgeIdToken(ctx.body.id_token, mode) };
  }
  return undefined;
}

// ---- serve ---------------------------------------------------------------------
let provider;
let handler = (_req, res) => { res.statusCode = 503; res.end(); };
const dispatch = (req, res) => handler(req, res);
const server = opts.cert
  ? https.createServer({ cert: readFileSync(opts.cert), key: readFileSync(opts.key) }, dispatch)
  : http.createServer(dispatch);

server.on('error', (err) => {
  console.error(`idp: ${err.message}`);
  process.exit(1);
});

server.listen(Number(opts.port), opts.host, () => {
  const { port } = server.address();
  const issuer = `${opts.cert ? 'https' : 'http'}://${opts.host}:${port}`;
  provider = makeProvider(issuer);
  provider.use(testMiddleware);
  provider.on('server_error', (_ctx, err) => console.error('idp: server_error', err));
  handler = provider.callback();
  process.stdout.write(`${JSON.stringify({ issuer, client_id: 'mimir-cli', port })}\n`);
});

function shutdown() {
  server.close();
  server.closeAllConnections(); // includes requests held open by "hang" faults
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
if (opts['exit-on-stdin-eof']) {
  process.stdin.on('end', shutdown);
  process.stdin.on('error', shutdown);
  process.stdin.resume();
}
