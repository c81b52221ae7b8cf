#!/usr/bin/env node
// A real MCP server (the official @modelcontextprotocol/sdk, Streamable HTTP)
// standing in for Mimir in the tests, the benchmark and the demo.
//
//   node tests/mcp/server.mjs [--issuer URL] [--api-key KEY] [--json] [--port N]
//                             [--cert FILE --key FILE] [--no-get]
//                             [--users NAME:PASS,...] [--token-ttl SEC] [--jwt-secret S]
//                             [--no-dev-login] [--oauth-providers] [--prm] [--security-off]
//
// It accepts only what Mimir accepts (tests/mcp/auth.mjs): a Bearer token that
// the identity provider at --issuer accepts at its userinfo endpoint, or
// X-API-Key equal to --api-key, or (Mimir's own login) an HS256 JWT that its
// /auth/token issued.  Anything else gets 401 with a JSON body and no
// WWW-Authenticate.  Stateful sessions (Mcp-Session-Id); protocol 2024-11-05
// and newer; answers as SSE streams, or JSON with --json; a stream of its own for
// server messages on GET, or 405 there with --no-get.
//
// Mimir's auth contract (details in tests/mcp/auth.mjs):
//   GET /auth/config      devLoginEnabled (on with --users unless --no-dev-login) and
//                         oauthProviders (the --issuer IdP, with --oauth-providers)
//   POST /auth/token      the password grant for --users: HS256 JWTs living --token-ttl
//                         seconds (default 0: no exp, no expires_in)
//   /.well-known/oauth-protected-resource[/mcp]  RFC 9728 metadata naming --issuer (--prm)
//   --security-off        every request is accepted without a credential, /auth/config
//                         is empty (neither --issuer nor --api-key is needed then)
//
// When ready it prints ONE line on stdout: {"url":"http://127.0.0.1:P/mcp","port":P}
// (https with --cert/--key).
//
// Tools: echo {text}, whoami, slow {ms}, progress {steps, ms} (progress
// notifications, or log messages without a progressToken, before the result),
// big {bytes} (a text that long), ask_roots (asks the client roots/list first),
// notify_later {ms} (a tools/list_changed notification on the server's own
// stream, after the result).
//
// Control (no auth):
//   GET  /__test/stats   {"requests","auth_ok","auth_fail","auth_missing","by_method",
//                         "credentials_ok" (distinct valid credentials), "sessions_created",
//                         "sessions_deleted","sessions_dropped","unknown_session","get_streams",
//                         "protocol_versions" {header value: count},"tool_calls" {name: count},
//                         "last_fail_reason","max_body"}
//   POST /__test/reset   zero the stats
//   POST /__test/config  {"json": bool}: answer style of sessions created from now on
//   POST /__test/drop-sessions  forget every session (their ids then get 404)
//   POST /__test/reject-next {"count": N}  the next N MCP requests get 401 whatever
//                        credential they carry (as if the server had revoked it)
//   POST /__test/auth    {"security","dev_login","providers","prm": bool, "token_ttl": SEC}:
//                        switch Mimir's auth modes (answers the resulting settings)
//   POST /__test/users   {"name","password"}: add a user or change a password (null: remove)
//   Stats also count "with_credential" (MCP requests carrying Authorization or X-API-Key),
//   "token_grants", "token_refused" (/auth/token), "mimir_jwt_ok", "mimir_jwt_fail".
import { randomUUID, createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import { parseArgs } from 'node:util';

import { McpServer } from '@modelcontextprotocol/sdk/server/mcp.js';
import { StreamableHTTPServerTransport } from '@modelcontextprotocol/sdk/server/streamableHttp.js';
import { isInitializeRequest } from '@modelcontextprotocol/sdk/types.js';
import { z } from 'zod';

import { makeAuth } from './auth.mjs';

const { values: opts } = parseArgs({
  options: {
    issuer: { type: 'string' },
    'api-key': { type: 'string' },
    json: { type: 'boolean', default: false },
    port: { type: 'string', default: '0' },
    cert: { type: 'string' },
    'no-get': { type: 'boolean', default: false },
    key: { type: 'string' },
    users: { type: 'string', default: '' },
    'token-ttl': { type: 'string', default: '0' },
    'jwt-secret': { type: 'string' },
    'no-dev-login': { type: 'boolean', default: false },
    'oauth-providers': { type: 'boolean', default: false },
    prm: { type: 'boolean', default: false },
    'security-off': { type: 'boolean', default: false },
  },
});
const users = opts.users.split(',').filter(Boolean).map((u) => {
  const i = u.indexOf(':');
  return i > 0 ? [u.slice(0, i), u.slice(i + 1)] : [u, ''];
});
if (!opts.issuer && !opts['api-key'] && !users.length && !opts['security-off']) {
  console.error('mcp-server: --issuer, --api-key, --users or --security-off is needed (it accepts nothing else)');
  process.exit(2);
}
const auth = makeAuth({ issuer: opts.issuer, key: opts['api-key'], mimir: {
  security: !opts['security-off'], users, ttl: Number(opts['token-ttl']), secret: opts['jwt-secret'],
  devLogin: users.length > 0 && !opts['no-dev-login'], providers: opts['oauth-providers'], prm: opts.prm,
}, readBody: (req) => readBody(req) });
const MAX_BODY = 64 * 1024 * 1024;

const freshStats = () => ({
  requests: 0,
  auth_ok: 0,
  auth_fail: 0,
  auth_missing: 0,
  by_method: {},
  credentials_ok: 0,
  sessions_created: 0,
  sessions_deleted: 0,
  sessions_dropped: 0,
  unknown_session: 0,
  get_streams: 0,
  protocol_versions: {},
  tool_calls: {},
  last_fail_reason: null,
  max_body: 0,
  with_credential: 0,
});
let stats = freshStats();
let seenCredentials = new Set();
let jsonAnswers = opts.json;
let rejectNext = 0;
const sessions = new Map(); // id -> { transport, server }

const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });
const text = (t) => ({ content: [{ type: 'text', text: t }] });

function countTool(name) {
  stats.tool_calls[name] = (stats.tool_calls[name] ?? 0) + 1;
}

function makeServer() {
  const server = new McpServer({ name: 'mimir-test', version: '1.0.0' },
    { capabilities: { logging: {}, tools: { listChanged: true } } });
  server.registerTool('echo', { description: 'Returns its text', inputSchema: { text: z.string() } },
    async ({ text: t }) => { countTool('echo'); return text(t); });
  server.registerTool('whoami', { description: 'Who the credential belongs to' },
    async (extra) => { countTool('whoami'); return text(`${extra.authInfo?.extra?.who ?? '?'}`); });
  server.registerTool('slow', { description: 'Answers after ms milliseconds', inputSchema: { ms: z.number() } },
    async ({ ms }) => { countTool('slow'); await sleep(ms); return text(`slept ${ms} ms`); });
  server.registerTool('progress', {
    description: 'Sends steps progress notifications (or log messages), then answers',
    inputSchema: { steps: z.number(), ms: z.number().optional() },
  }, async ({ steps, ms = 20 }, extra) => {
    countTool('progress');
    const token = extra._meta?.progressToken;
    for (let i = 1; i <= steps; i++) {
      if (token !== undefined) {
        await extra.sendNotification({ method: 'notifications/progress',
          params: { progressToken: token, progress: i, total: steps } });
      } else {
        await extra.sendNotification({ method: 'notifications/message',
          params: { level: 'info', data: `step ${i} of ${steps}` } });
      }
      await sleep(ms);
    }
    return text(`${steps} steps`);
  });
  server.registerTool('big', { description: 'A text of bytes bytes', inputSchema: { bytes: z.number() } },
    async ({ bytes }) => { countTool('big'); return text('x'.repeat(bytes)); });
  server.registerTool('ask_roots', { description: 'Asks the client for its roots first' },
    async () => {
      countTool('ask_roots');
      const r = await server.server.listRoots();
      return text(`client has ${r.roots.length} root(s): ${r.roots.map((x) => x.uri).join(' ')}`);
    });
  server.registerTool('notify_later', {
    description: 'After ms, a tools/list_changed notification on the server stream',
    inputSchema: { ms: z.number() },
  }, async ({ ms }) => {
    countTool('notify_later');
    setTimeout(() => server.sendToolListChanged(), ms);
    return text('scheduled');
  });
  return server;
}

// ---- HTTP ---------------------------------------------------------------------------
function sendJson(res, status, body, headers = {}) {
  res.writeHead(status, { 'content-type': 'application/json', ...headers });
  res.end(JSON.stringify(body));
}

async function readBody(req) {
  const chunks = [];
  let n = 0;
  for await (const c of req) {
    n += c.length;
    if (n > MAX_BODY) throw new Error('body too large');
    chunks.push(c);
  }
  stats.max_body = Math.max(stats.max_body, n);
  return Buffer.concat(chunks).toString('utf8');
}

async function control(req, res) {
  const route = req.url.slice('/__test/'.length);
  if (route === 'stats' && req.method === 'GET') return sendJson(res, 200, { ...stats, ...auth.stats() });
  if (req.method !== 'POST') return sendJson(res, 404, { error: 'unknown control route' });
  const raw = await readBody(req);
  const body = raw ? JSON.parse(raw) : {};
  switch (route) {
    case 'reset':
      stats = freshStats();
      seenCredentials = new Set();
      auth.resetStats();
      return sendJson(res, 200, { ok: true });
    case 'config':
      if (typeof body.json === 'boolean') jsonAnswers = body.json;
      return sendJson(res, 200, { ok: true, json: jsonAnswers });
    case 'reject-next':
      rejectNext = Number(body.count ?? 1);
      return sendJson(res, 200, { ok: true });
    case 'drop-sessions': {
      const n = sessions.size;
      for (const [, s] of sessions) s.transport.close();
      sessions.clear();
      stats.sessions_dropped += n;
      return sendJson(res, 200, { ok: true, dropped: n });
    }
    default: {
      const answer = auth.control(route, body);
      if (answer) return sendJson(res, answer.ok ? 200 : 400, answer);
      return sendJson(res, 404, { error: 'unknown control route' });
    }
  }
}

async function newSession(req, res, body) {
  const transport = new StreamableHTTPServerTransport({
    sessionIdGenerator: () => randomUUID(),
    enableJsonResponse: jsonAnswers,
    maxRequestBodySize: MAX_BODY,
    onsessioninitialized: (id) => { sessions.set(id, { transport, server }); },
  });
  transport.onclose = () => {
    if (transport.sessionId) sessions.delete(transport.sessionId);
  };
  const server = makeServer();
  await server.connect(transport);
  stats.sessions_created += 1;
  await transport.handleRequest(req, res, body);
}

async function mcp(req, res) {
  const sid = req.headers['mcp-session-id'];
  const pv = req.headers['mcp-protocol-version'];
  if (pv) stats.protocol_versions[pv] = (stats.protocol_versions[pv] ?? 0) + 1;
  let body;
  if (req.method === 'POST') {
    const raw = await readBody(req);
    try {
      body = JSON.parse(raw);
    } catch {
      return sendJson(res, 400, { jsonrpc: '2.0', error: { code: -32700, message: 'Parse error' }, id: null });
    }
  }
  const s = sid ? sessions.get(sid) : undefined;
  if (sid && !s) {
    stats.unknown_session += 1;
    return sendJson(res, 404, { jsonrpc: '2.0', error: { code: -32001, message: 'Session not found' }, id: null });
  }
  if (!s) {
    if (req.method === 'POST' && isInitializeRequest(body)) return newSession(req, res, body);
    return sendJson(res, 400, { jsonrpc: '2.0', error: { code: -32000, message: 'Bad Request: no session' }, id: null });
  }
  if (req.method === 'GET' && opts['no-get']) {
    return sendJson(res, 405, { jsonrpc: '2.0', error: { code: -32000, message: 'Method not allowed' }, id: null },
      { allow: 'POST, DELETE' });
  }
  if (req.method === 'GET') stats.get_streams += 1;
  if (req.method === 'DELETE') stats.sessions_deleted += 1;
  return s.transport.handleRequest(req, res, body);
}

async function handle(req, res) {
  if (req.url.startsWith('/__test/')) return control(req, res);
  if (auth.routes(req, res)) return undefined;
  if (new URL(req.url, 'http://x').pathname !== '/mcp') return sendJson(res, 404, { error: 'not found' });
  stats.requests += 1;
  stats.by_method[req.method] = (stats.by_method[req.method] ?? 0) + 1;
  if (req.headers.authorization !== undefined || req.headers['x-api-key'] !== undefined) {
    stats.with_credential += 1;
  }
  const who = await auth.check(req);
  if (who.ok && rejectNext > 0) {
    rejectNext -= 1;
    who.ok = false;
    who.reason = 'rejected on request (reject-next)';
  }
  if (!who.ok) {
    if (who.reason === 'no credential') stats.auth_missing += 1;
    else stats.auth_fail += 1;
    stats.last_fail_reason = who.reason;
    req.resume(); // the body is not wanted
    return sendJson(res, 401, { error: 'invalid_token', error_description: who.reason });
  }
  stats.auth_ok += 1;
  const h = who.credential === null ? null : createHash('sha256').update(who.credential).digest('hex');
  if (h !== null && !seenCredentials.has(h)) {
    seenCredentials.add(h);
    stats.credentials_ok = seenCredentials.size;
  }
  req.auth = { token: who.credential, clientId: 'mimir-test', scopes: [], extra: { who: who.who } };
  return mcp(req, res);
}

const onRequest = (req, res) => {
  handle(req, res).catch((e) => {
    console.error('mcp-server:', e);
    if (!res.headersSent) sendJson(res, 500, { error: String(e.message ?? e) });
    else res.end();
  });
};
const httpServer = opts.cert
  ? https.createServer({ cert: readFileSync(opts.cert), key: readFileSync(opts.key) }, onRequest)
  : http.createServer(onRequest);
httpServer.on('error', (e) => {
  console.error(`mcp-server: ${e.message}`);
  process.exit(1);
});
httpServer.listen(Number(opts.port), '127.0.0.1', () => {
  const { port } = httpServer.address();
  const scheme = opts.cert ? 'https' : 'http';
  process.stdout.write(`${JSON.stringify({ url: `${scheme}://127.0.0.1:${port}/mcp`, port })}\n`);
});

function shutdown() { // streams held open by clients must not keep it alive
  for (const [, s] of sessions) s.transport.close();
  httpServer.closeAllConnections();
  process.exit(0);
}
process.on('SIGTERM', shutdown);
process.on('SIGINT', shutdown);
