#!/usr/bin/env node
// Numbers for the stdio proxy against the SDK's own HTTP client, same server,
// same run (tests/bench/proxy.sh prints them).
//
//   node tests/mcp/bench.mjs --url URL --header 'K: V' --cmd 'mimir-helper proxy'
//                            [--runs N] [--calls N] [--rounds N]
//
// One JSON line on stdout:
//   ready:  per round, the median over --runs of
//     proxy  spawn CMD, write initialize at once, until the first byte of the
//            answer on its stdout (what an MCP client waits for);
//     cat    the same with `cat` as the "server": the floor of any stdio server
//            (spawning from node, pipes);
//     direct the SDK's HTTP client: send initialize until the answer is parsed
//            (the server's own time, plus the SDK's);
//   calls:  per round, the median over --calls sequential tools/call echo of
//     proxy  the SDK's client over stdio through CMD, and
//     direct the SDK's client over HTTP;
//   rss_kib / hwm_kib / anon_kib / pss_kib: the proxy's resident size after the
//   calls (VmRSS, VmHWM, RssAnon: its own private memory, Pss: shared pages
//   counted by their share).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const o = { headers: {}, runs: 30, calls: 300, rounds: 3 };
const argv = process.argv.slice(2);
while (argv.length) {
  const k = argv.shift();
  const v = argv.shift();
  if (k === '--url') o.url = v;
  else if (k === '--cmd') o.cmd = v.split(/\s+/).filter(Boolean);
  else if (k === '--header') {
    const i = v.indexOf(':');
    o.headers[v.slice(0, i).trim()] = v.slice(i + 1).trim();
  } else o[k.slice(2)] = Number(v);
}

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } };
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function firstByte(cmd) {
  const t0 = performance.now();
  const p = spawn(cmd[0], cmd.slice(1), { stdio: ['pipe', 'pipe', 'inherit'] });
  p.stdin.write(`${JSON.stringify(INIT)}\n`);
  const [t1] = await Promise.race([
    once(p.stdout, 'data').then(() => [performance.now()]),
    once(p, 'exit').then(([code]) => { throw new Error(`${cmd.join(' ')} exited (${code}) without answering`); }),
  ]);
  p.stdout.resume();
  p.stdin.end();
  await once(p, 'exit');
  return t1 - t0;
}

async function directInit() {
  const tr = new StreamableHTTPClientTransport(new URL(o.url), { requestInit: { headers: o.headers } });
  await tr.start();
  const got = new Promise((resolve) => { tr.onmessage = () => resolve(performance.now()); });
  const t0 = performance.now();
  await tr.send(INIT);
  const t1 = await got;
  await tr.terminateSession().catch(() => {});
  await tr.close();
  return t1 - t0;
}

async function timedCalls(transport, n) {
  const client = new Client({ name: 'bench', version: '1' });
  await client.connect(transport);
  const call = () => client.callTool({ name: 'echo', arguments: { text: 'x' } });
  for (let i = 0; i < 20; i++) await call(); // warm up connections and JITs
  const times = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await call();
    times.push(performance.now() - t0);
  }
  let mem = {};
  if (transport.pid) {
    const st = readFileSync(`/proc/${transport.pid}/status`, 'utf8')
      + readFileSync(`/proc/${transport.pid}/smaps_rollup`, 'utf8');
    const kib = (f) => Number(st.match(new RegExp(`^${f}:\\s+(\\d+)`, 'm'))[1]);
    mem = { rss_kib: kib('VmRSS'), hwm_kib: kib('VmHWM'), anon_kib: kib('RssAnon'), pss_kib: kib('Pss') };
  }
  if (transport.terminateSession) await transport.terminateSession().catch(() => {});
  await client.close();
  return { median: median(times), ...mem };
}

const out = { ready: [], calls: [] };
for (let r = 0; r < o.rounds; r++) {
  const ready = { proxy: [], cat: [], direct: [] };
  for (let i = 0; i < o.runs; i++) { // interleaved: load drifts hit all three alike
    ready.proxy.push(await firstByte(o.cmd));
    ready.cat.push(await firstByte(['cat']));
    ready.direct.push(await directInit());
  }
  out.ready.push({ proxy: median(ready.proxy), cat: median(ready.cat), direct: median(ready.direct) });
  const p = await timedCalls(new StdioClientTransport({ command: o.cmd[0], args: o.cmd.slice(1),
    env: { ...process.env }, stderr: 'inherit' }), o.calls);
  const d = await timedCalls(new StreamableHTTPClientTransport(new URL(o.url),
    { requestInit: { headers: o.headers } }), o.calls);
  out.calls.push({ proxy: p.median, direct: d.median });
  out.rss_kib = p.rss_kib;
  out.anon_kib = p.anon_kib;
  out.pss_kib = p.pss_kib;
  out.hwm_kib = Math.max(out.hwm_kib ?? 0, p.hwm_kib);
}
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
