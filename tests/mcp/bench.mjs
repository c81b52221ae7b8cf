#!/usr/bin/env node
// Numbers for the stdio proxy against the SDK's own HTTP client, same server,
// same run (tests/bench/proxy.sh prints them).
//
//   node tests/mcp/bench.mjs --url URL --header 'K: V' --cmd 'mimir-helper proxy'
//                            --server-lock PATH [--exec-env NAME=VALUE]
//                            [--runs N] [--calls N] [--rounds N]
//
// CMD is what an MCP client runs: `mimir-helper proxy`, which hands the
// client to a session of the proxy server; with --exec-env in its
// environment (MIMIR_PROXY_SERVE=0) it runs mimir-proxy itself instead.
// One JSON line on stdout:
//   ready:  per round, the median over --runs of the time from spawning to the
//           first byte of the answer to initialize written at once (what an MCP
//           client waits for), and in .open the same from the moment spawn()
//           returned, the child's standard input open (node's spawn itself, a
//           fork of node and the wait for the exec, not counted), for
//     proxy  CMD with the proxy server up (every session but the first);
//     cold   CMD after the server was stopped (SIGTERM to the pid in
//            --server-lock): starting the server included;
//     exec   CMD with --exec-env: mimir-proxy executed, as before the server;
//     cat    `cat` as the "server": the floor of any stdio server (spawning
//            from node, pipes);
//     direct the SDK's HTTP client: send initialize until the answer is parsed
//            (the server's own time, plus the SDK's);
//   calls:  per round, the median over --calls sequential tools/call echo of
//     proxy / exec  the SDK's client over stdio through CMD, and
//     direct the SDK's client over HTTP;
//   mem: after the calls (KiB; VmRSS, VmHWM, Pss: shared pages by their share,
//     private: Private_Clean + Private_Dirty)
//     helper  the process the client launched (`mimir-helper proxy`, waiting);
//     session the server's session process serving it;
//     exec    mimir-proxy run by the helper (--exec-env).
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';

const o = { headers: {}, runs: 30, calls: 300, rounds: 3, execEnv: {} };
const argv = process.argv.slice(2);
while (argv.length) {
  const k = argv.shift();
  const v = argv.shift();
  if (k === '--url') o.url = v;
  else if (k === '--cmd') o.cmd = v.split(/\s+/).filter(Boolean);
  else if (k === '--server-lock') o.lock = v;
  else if (k === '--exec-env') {
    const i = v.indexOf('=');
    o.execEnv[v.slice(0, i)] = v.slice(i + 1);
  } else if (k === '--header') {
    const i = v.indexOf(':');
    o.headers[v.slice(0, i).trim()] = v.slice(i + 1).trim();
  } else o[k.slice(2)] = Number(v);
}
const execEnv = { ...process.env, ...o.execEnv };

const INIT = { jsonrpc: '2.0', id: 1, method: 'initialize',
  params: { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'bench', version: '1' } } };
const median = (a) => {
  const s = [...a].sort((x, y) => x - y);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
};

async function firstByte(cmd, env = process.env) {
  const t0 = performance.now();
  const p = spawn(cmd[0], cmd.slice(1), { stdio: ['pipe', 'pipe', 'inherit'], env });
  const tOpen = performance.now();
  p.stdin.write(`${JSON.stringify(INIT)}\n`);
  const [t1] = await Promise.race([
    once(p.stdout, 'data').then(() => [performance.now()]),
    once(p, 'exit').then(([code]) => { throw new Error(`${cmd.join(' ')} exited (${code}) without answering`); }),
  ]);
  p.stdout.resume();
  p.stdin.end();
  await once(p, 'exit');
  return { spawned: t1 - t0, open: t1 - tOpen };
}

function serverPid() {
  try {
    const pid = Number(readFileSync(o.lock, 'utf8').trim());
    return pid > 0 && existsSync(`/proc/${pid}`) ? pid : 0;
  } catch {
    return 0;
  }
}

// Stop the proxy server and wait until it is gone (it is not our child).
async function stopServer() {
  const pid = serverPid();
  if (!pid) return;
  process.kill(pid, 'SIGTERM');
  const until = performance.now() + 10000;
  while (existsSync(`/proc/${pid}`) && performance.now() < until) {
    await new Promise((r) => { setTimeout(r, 2); });
  }
}

async function coldFirstByte(cmd) {
  await stopServer();
  return firstByte(cmd);
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

function memOf(pid) {
  try {
    const st = readFileSync(`/proc/${pid}/status`, 'utf8') + readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8');
    const kib = (f) => Number(st.match(new RegExp(`^${f}:\\s+(\\d+)`, 'm'))?.[1] ?? NaN);
    return { rss: kib('VmRSS'), hwm: kib('VmHWM'), pss: kib('Pss'),
      private: kib('Private_Clean') + kib('Private_Dirty') };
  } catch {
    return null; // a session process is not dumpable: reading its smaps takes root
  }
}

// The server's session process holding the helper's standard input.
function sessionOf(helper) {
  const srv = serverPid();
  let stdin;
  try { stdin = readlinkSync(`/proc/${helper}/fd/0`); } catch { return 0; }
  for (const d of readdirSync('/proc')) {
    if (!/^\d+$/.test(d) || Number(d) === helper) continue;
    try {
      const ppid = Number(readFileSync(`/proc/${d}/stat`, 'utf8').split(') ')[1].split(' ')[1]);
      if (ppid === srv && readlinkSync(`/proc/${d}/fd/0`) === stdin) return Number(d);
    } catch { /* gone, or not ours to read */ }
  }
  return 0;
}

async function timedCalls(transport, n, mem) {
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
  const m = transport.pid && mem ? mem(transport.pid) : {};
  if (transport.terminateSession) await transport.terminateSession().catch(() => {});
  await client.close();
  return { median: median(times), mem: m };
}

const stdio = (env) => new StdioClientTransport({ command: o.cmd[0], args: o.cmd.slice(1), env, stderr: 'inherit' });
const out = { ready: [], calls: [], mem: {} };
const peak = (a, b) => (a && b ? { ...b, hwm: Math.max(a.hwm, b.hwm) } : b ?? a);
for (let r = 0; r < o.rounds; r++) {
  const ready = { proxy: [], cold: [], exec: [], cat: [], direct: [] };
  const open = { proxy: [], cold: [], exec: [], cat: [] };
  const add = (k, t) => { ready[k].push(t.spawned); open[k].push(t.open); };
  // Interleaved, so that load drifts hit all alike; proxy comes last but
  // one, when the server started by cold has its spare session process
  // (forked 50 ms after a client took the previous one), as it would
  // have for any client that does not start right behind another.
  for (let i = 0; i < o.runs; i++) {
    add('cold', await coldFirstByte(o.cmd));
    add('exec', await firstByte(o.cmd, execEnv));
    add('cat', await firstByte(['cat']));
    add('proxy', await firstByte(o.cmd));
    ready.direct.push(await directInit());
  }
  const medians = (m) => Object.fromEntries(Object.entries(m).map(([k, v]) => [k, median(v)]));
  out.ready.push({ ...medians(ready), open: medians(open) });
  const p = await timedCalls(stdio({ ...process.env }), o.calls,
    (pid) => ({ helper: memOf(pid), session: memOf(sessionOf(pid)) }));
  const e = await timedCalls(stdio(execEnv), o.calls, (pid) => ({ exec: memOf(pid) }));
  const d = await timedCalls(new StreamableHTTPClientTransport(new URL(o.url),
    { requestInit: { headers: o.headers } }), o.calls);
  out.calls.push({ proxy: p.median, exec: e.median, direct: d.median });
  for (const [k, v] of Object.entries({ ...p.mem, ...e.mem })) out.mem[k] = peak(out.mem[k], v);
}
process.stdout.write(`${JSON.stringify(out)}\n`);
process.exit(0);
