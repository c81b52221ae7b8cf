#!/usr/bin/env node
// A stand-in MCP resource server for the discovery tests (RFC 9728): every
// request gets 401 with
//   WWW-Authenticate: Bearer resource_metadata="http://127.0.0.1:PORT/.well-known/oauth-protected-resource"
// except that URL (and the path-suffixed variant for /mcp), which serves the
// protected resource metadata naming the authorization server(s).
//
//   prm-server.mjs [--issuer URL]... [--no-hint]
//     --issuer URL  an entry of authorization_servers (repeatable; none: an empty list)
//     --no-hint     401 without resource_metadata (clients must use the well-known URI)
// Prints {"port":N,"url":"http://127.0.0.1:N/mcp"} on stdout when listening; logs one
// line per request ("GET /path") on stderr.  Ends on SIGTERM or SIGINT.
import * as http from 'node:http';
import { parseArgs } from 'node:util';

const { values: opts } = parseArgs({
  options: {
    issuer: { type: 'string', multiple: true, default: [] },
    'no-hint': { type: 'boolean', default: false },
  },
});

let origin = '';
const server = http.createServer((req, res) => {
  const path = new URL(req.url, 'http://127.0.0.1').pathname;
  console.error(`${req.method} ${path}`);
  req.resume();
  if (path === '/.well-known/oauth-protected-resource'
      || path === '/.well-known/oauth-protected-resource/mcp') {
    const body = JSON.stringify({
      resource: `${origin}/mcp`,
      authorization_servers: opts.issuer,
      bearer_methods_supported: ['header'],
    });
    res.writeHead(200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-store' });
    res.end(body);
    return;
  }
  const challenge = opts['no-hint']
    ? 'Bearer'
    : `Bearer resource_metadata="${origin}/.well-known/oauth-protected-resource"`;
  res.writeHead(401, { 'WWW-Authenticate': challenge, 'Content-Type': 'application/json' });
  res.end(JSON.stringify({ error: 'invalid_token', error_description: 'authentication required' }));
});

server.listen(0, '127.0.0.1', () => {
  const { port } = server.address();
  origin = `http://127.0.0.1:${port}`;
  process.stdout.write(`${JSON.stringify({ port, url: `${origin}/mcp` })}\n`);
});

const stop = () => {
  server.close();
  server.closeAllConnections();
  process.exit(0);
};
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
