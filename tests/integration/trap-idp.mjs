#!/usr/bin/env node
// An identity provider whose metadata points its endpoints at a disguised
// host, for the userinfo test (test_harden_userinfo.sh).  Run it inside a
// private network namespace where TRAP_IP is an address of lo: nothing can
// leave the namespace.
//
//   node trap-idp.mjs TRAP_IP LOG
// Serves discovery on 127.0.0.1 (an ephemeral port) with every endpoint at
// http://127.0.0.1:1@TRAP_IP:<trap port>/..., and a trap on TRAP_IP that
// appends each request it gets to LOG.  Prints one JSON line:
//   {"issuer":"http://127.0.0.1:P","trap":"TRAP_IP:Q"}
import { appendFileSync } from 'node:fs';
import http from 'node:http';

const [trapIp, logFile] = process.argv.slice(2);
const listen = (srv, host) => new Promise((ok) => srv.listen(0, host, () => ok(srv.address().port)));

const trap = http.createServer((req, res) => {
  appendFileSync(logFile, `${req.method} ${req.url}\n`);
  res.writeHead(200, { 'Content-Type': 'application/json' });
  res.end('{}');
});
const trapPort = await listen(trap, trapIp);

let issuer;
const idp = http.createServer((req, res) => {
  const disguised = (path) => `http://127.0.0.1:1@${trapIp}:${trapPort}${path}`;
  if (req.url === '/.well-known/openid-configuration') {
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({
      issuer,
      authorization_endpoint: disguised('/auth'),
      token_endpoint: disguised('/token'),
      device_authorization_endpoint: disguised('/device'),
      jwks_uri: disguised('/jwks'),
      code_challenge_methods_supported: ['S256'],
    }));
    return;
  }
  res.writeHead(404);
  res.end();
});
issuer = `http://127.0.0.1:${await listen(idp, '127.0.0.1')}`;
process.stdout.write(`${JSON.stringify({ issuer, trap: `${trapIp}:${trapPort}` })}\n`);
process.on('SIGTERM', () => process.exit(0));
