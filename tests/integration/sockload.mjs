#!/usr/bin/env node
// Hostile and heavy clients of the agent socket, for the hardening tests.
//
//   node sockload.mjs idle SOCK N SECS
//       open N connections that send nothing; after SECS print
//       {"connected","refused","closed_by_agent"} (refused: the agent said
//       too_many_connections or closed before SECS... counted separately)
//   node sockload.mjs nonreaders SOCK N REQUESTS SECS
//       N connections that each send REQUESTS token requests and never read;
//       after SECS print {"connected","closed_by_agent"}
//   node sockload.mjs pipeline SOCK REQUESTS SECS
//       one connection that sends REQUESTS token requests at once and reads
//       every reply; print {"replies","ok","errors"} when all arrived or
//       SECS passed
// Every mode ends by itself within SECS (+ a little) and closes everything.
import net from 'node:net';

const [mode, sock, ...rest] = process.argv.slice(2);
const num = (i) => Number(rest[i]);
const out = (o) => { process.stdout.write(`${JSON.stringify(o)}\n`); process.exit(0); };
const request = (id) => `{"v":1,"id":${id},"op":"token"}\n`;

function connectAll(n, onEach) {
  const conns = [];
  const stats = { connected: 0, refused: 0, closed_by_agent: 0 };
  for (let i = 0; i < n; i += 1) {
    const c = net.createConnection(sock);
    c.on('connect', () => { stats.connected += 1; onEach?.(c, i); });
    c.on('data', (d) => { if (String(d).includes('too_many_connections')) stats.refused += 1; });
    c.on('error', () => {});
    c.on('close', () => { if (!c.ending) stats.closed_by_agent += 1; });
    conns.push(c);
  }
  return { conns, stats };
}

function endAll(conns) {
  for (const c of conns) { c.ending = true; c.destroy(); }
}

if (mode === 'idle') {
  const { conns, stats } = connectAll(num(0));
  setTimeout(() => { const s = { ...stats }; endAll(conns); out(s); }, num(1) * 1000);
} else if (mode === 'nonreaders') {
  const perConn = Array.from({ length: num(1) }, (_, k) => request(k + 1)).join('');
  const { conns, stats } = connectAll(num(0), (c) => {
    c.pause(); // never read: replies pile up on the agent's side
    c.write(perConn);
  });
  setTimeout(() => { const s = { ...stats }; endAll(conns); out(s); }, num(2) * 1000);
} else if (mode === 'pipeline') {
  const total = num(0);
  const res = { replies: 0, ok: 0, errors: 0 };
  const c = net.createConnection(sock);
  let buf = '';
  const finish = () => { c.ending = true; c.destroy(); out(res); };
  c.on('connect', () => {
    // In chunks, honouring backpressure on our side too.
    let next = 1;
    const pump = () => {
      while (next <= total) {
        let chunk = '';
        for (let k = 0; k < 1000 && next <= total; k += 1, next += 1) chunk += request(next);
        if (!c.write(chunk)) { c.once('drain', pump); return; }
      }
    };
    pump();
  });
  c.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      res.replies += 1;
      if (line.includes('"ok":true')) res.ok += 1; else res.errors += 1;
    }
    if (res.replies >= total) finish();
  });
  c.on('error', finish);
  c.on('close', finish);
  setTimeout(finish, num(1) * 1000);
} else {
  console.error('usage: sockload.mjs idle|nonreaders|pipeline SOCK ...');
  process.exit(2);
}
