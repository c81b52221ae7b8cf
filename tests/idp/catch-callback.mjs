#!/usr/bin/env node
// A throwaway loopback redirect_uri listener for the self-test: prints
// {"port":N}, waits for one GET /callback, answers it, prints its query as JSON.
//   catch-callback.mjs [TIMEOUT_SECONDS]   (default 60)
import * as http from 'node:http';

const timeout = Number(process.argv[2] || 60) * 1000;
const server = http.createServer((req, res) => {
  const url = new URL(req.url, 'http://127.0.0.1');
  if (url.pathname !== '/callback') {
    res.writeHead(404).end();
    return;
  }
  const query = Object.fromEntries(url.searchParams);
  const ok = !query.error;
  res.writeHead(ok ? 200 : 400, { 'Content-Type': 'text/plain', Connection: 'close' });
  res.end(ok ? 'Login complete. You can close this window.\n' : `Login failed: ${query.error}\n`);
  process.stdout.write(`${JSON.stringify(query)}\n`);
  server.close();
  server.closeAllConnections();
});
server.listen(0, '127.0.0.1', () => {
  process.stdout.write(`${JSON.stringify({ port: server.address().port })}\n`);
});
setTimeout(() => {
  console.error('catch-callback: no callback received');
  process.exit(1);
}, timeout).unref();
