#!/usr/bin/env node
// An MCP client built with the official @modelcontextprotocol/sdk, for the
// tests, the benchmark and the demo.  It speaks either stdio to a command
// (the way Cursor or Claude Desktop run `mimir-helper proxy`) or Streamable
// HTTP straight to a server.
//
//   node tests/mcp/client.mjs [transport] SCENARIO [ARGS...]
//   transport: --stdio 'CMD ARG...'          spawn CMD (whitespace-split), speak stdio
//              --http URL [--header 'K: V']...  the SDK's own HTTP client
//              --headers-cmd 'CMD ARG...'      HTTP headers from CMD's JSON output
//                                              (mimir-helper headers), read once
//              --protocol VERSION             ask for this protocol version
//
// Scenarios print one JSON line on stdout (the result) and exit 0 unless
// something failed outright:
//   smoke                     initialize, list tools, call whoami and echo
//   call TOOL [JSON_ARGS]     one tool call: {"text": ...}
//   soak SECONDS [PAUSE_MS]   list + call echo + call whoami in a loop:
//                             {"rounds","calls","failures","errors":[...],"who":[...]}
//   parallel SLOW_MS N        one slow call and N fast calls (ping, echo) at once:
//                             {"slow_ms","fast_ms_max","fast_before_slow"}
//   progress STEPS            a call with progress notifications: {"progress","text"}
//   logs STEPS                the same without a progress token (log messages)
//   roots                     a tool that asks the client for its roots first
//   list, ping                tools/list: {"tools"}; ping: {"pong"}
//   notify MS                 wait for tools/list_changed on the server's stream
//   big BYTES                 a result of BYTES bytes: {"length"}
//   bench N                   N echo calls after initialize: {"init_ms","calls_ms":[...]}
//   repl                      commands from stdin, one per line, a JSON line for each:
//                             any scenario above but smoke and bench ("call whoami",
//                             "soak 10 50", ...), "pid" (of the stdio command), "quit",
//                             "bg NAME CMD..." (start CMD, answer {"started"} at once) and
//                             "wait NAME" (its answer, with "ms" it took)
// A failed call prints {"error": {"code","message","data"}} instead of a result.
import { spawnSync } from 'node:child_process';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ListRootsRequestSchema, ToolListChangedNotificationSchema } from '@modelcontextprotocol/sdk/types.js';

function die(msg) {
  process.stderr.write(`mcp-client: ${msg}\n`);
  process.exit(1);
}

const argv = process.argv.slice(2);
const t = { headers: {} };
while (argv[0]?.startsWith('--')) {
  const o = argv.shift();
  const v = argv.shift();
  if (v === undefined) die(`${o} needs a value`);
  if (o === '--stdio') t.stdio = v.split(/\s+/).filter(Boolean);
  else if (o === '--http') t.http = v;
  else if (o === '--header') {
    const i = v.indexOf(':');
    t.headers[v.slice(0, i).trim()] = v.slice(i + 1).trim();
  } else if (o === '--headers-cmd') {
    const [cmd, ...args] = v.split(/\s+/).filter(Boolean);
    const r = spawnSync(cmd, args, { encoding: 'utf8' });
    if (r.status !== 0) die(`${v} failed (${r.status}): ${r.stderr}`);
    Object.assign(t.headers, JSON.parse(r.stdout));
  } else if (o === '--protocol') t.protocol = v;
  else die(`unknown option ${o}`);
}
const [scenario, ...args] = argv;
if (!scenario || (!t.stdio && !t.http)) die('usage: client.mjs (--stdio CMD | --http URL) SCENARIO [ARGS]');

function makeTransport() {
  let tr;
  if (t.stdio) {
    // The SDK refuses lines over 10 MiB by default; the memory test sends more.
    tr = new StdioClientTransport({ command: t.stdio[0], args: t.stdio.slice(1), env: { ...process.env },
      stderr: 'inherit', maxBufferSize: 128 * 1024 * 1024 });
  } else {
    tr = new StreamableHTTPClientTransport(new URL(t.http), { requestInit: { headers: t.headers } });
  }
  if (t.protocol) { // ask for an older protocol than the SDK's latest
    const send = tr.send.bind(tr);
    tr.send = (msg, o) => {
      if (msg.method === 'initialize') msg = { ...msg, params: { ...msg.params, protocolVersion: t.protocol } };
      return send(msg, o);
    };
  }
  return tr;
}

const client = new Client({ name: 'mimir-test-client', version: '1.0.0' }, { capabilities: { roots: {} } });
client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: 'file:///work', name: 'work' }] }));
const textOf = (r) => r.content?.map((c) => c.text).join('') ?? '';
const call = (name, a = {}, o = {}) => client.callTool({ name, arguments: a }, undefined, o);
const out = (o) => process.stdout.write(`${JSON.stringify(o)}\n`);

async function soak(seconds, pauseMs) {
  const end = Date.now() + seconds * 1000;
  const res = { rounds: 0, calls: 0, failures: 0, errors: [], who: [] };
  while (Date.now() < end) {
    res.rounds += 1;
    for (const f of [() => client.listTools(), () => call('echo', { text: `r${res.rounds}` }), () => call('whoami')]) {
      res.calls += 1;
      try {
        const r = await f();
        if (r.isError) throw new Error(`tool error: ${textOf(r)}`);
        if (r.content && !res.who.includes(textOf(r)) && !textOf(r).startsWith('r')) res.who.push(textOf(r));
      } catch (e) {
        res.failures += 1;
        if (res.errors.length < 10) res.errors.push(`${new Date().toISOString()} ${e.message}`);
      }
    }
    await new Promise((r) => { setTimeout(r, pauseMs); });
  }
  return res;
}

async function parallel(slowMs, n) {
  const t0 = performance.now();
  let slowAt = 0;
  const slow = call('slow', { ms: slowMs }).then((r) => { slowAt = performance.now() - t0; return r; });
  const fast = [];
  for (let i = 0; i < n; i++) {
    fast.push((i % 2 ? client.ping() : call('echo', { text: `f${i}` })).then(() => performance.now() - t0));
  }
  const times = await Promise.all(fast);
  await slow;
  const max = Math.max(...times);
  return { slow_ms: Math.round(slowAt), fast_ms_max: Math.round(max), fast_before_slow: max < slowAt };
}

let initMs = 0;
let transport;

async function repl() {
  const rl = createInterface({ input: process.stdin });
  const bg = new Map();
  for await (const line of rl) {
    const [cmd, ...rest] = line.trim().split(/\s+/);
    if (!cmd) continue;
    if (cmd === 'quit') break;
    if (cmd === 'pid') out({ pid: transport.pid });
    else if (cmd === 'bg') { // bg NAME CMD ARGS: start it, answer at once
      const t0 = performance.now();
      bg.set(rest[0], runCaught(rest[1], rest.slice(2)).then((r) => ({ ...r, ms: Math.round(performance.now() - t0) })));
      out({ started: rest[0] });
    } else if (cmd === 'wait') out(await bg.get(rest[0]));
    else out(await runCaught(cmd, rest));
  }
}

async function runCaught(sc, a) {
  try {
    return await run(sc, a);
  } catch (e) {
    return { error: { code: e.code, message: e.message, data: e.data } };
  }
}

async function run(sc, args) {
  let r;
  switch (sc) {
    case 'smoke': {
      const tools = (await client.listTools()).tools.map((x) => x.name).sort();
      const who = textOf(await call('whoami'));
      const echo = textOf(await call('echo', { text: 'hello through mimir' }));
      r = { tools, who, echo };
      break;
    }
    case 'call': {
      const res = await call(args[0], args[1] ? JSON.parse(args[1]) : {});
      r = { text: textOf(res), isError: !!res.isError };
      break;
    }
    case 'soak': r = await soak(Number(args[0]), Number(args[1] ?? 100)); break;
    case 'parallel': r = await parallel(Number(args[0]), Number(args[1] ?? 10)); break;
    case 'progress': {
      // Counted as the transport delivers them: the SDK's Protocol handles
      // notifications a microtask late, so one that arrives in the same read
      // as the response finds its progress handler gone.
      const before = seen.progress;
      const res = await call('progress', { steps: Number(args[0]) }, { onprogress: () => {} });
      r = { progress: seen.progress - before, text: textOf(res) };
      break;
    }
    case 'logs': { // counted like progress
      const before = seen.logs;
      const res = await call('progress', { steps: Number(args[0]) });
      r = { logs: seen.logs - before, text: textOf(res) };
      break;
    }
    case 'roots': r = { text: textOf(await call('ask_roots')) }; break;
    case 'list': r = { tools: (await client.listTools()).tools.map((x) => x.name).sort() }; break;
    case 'ping': await client.ping(); r = { pong: true }; break;
    case 'notify': {
      let timer;
      const got = new Promise((resolve) => {
        client.setNotificationHandler(ToolListChangedNotificationSchema, () => resolve(true));
        timer = setTimeout(() => resolve(false), 10000);
      });
      await call('notify_later', { ms: Number(args[0] ?? 200) });
      r = { notified: await got };
      clearTimeout(timer);
      break;
    }
    case 'big': {
      const res = await call('big', { bytes: Number(args[0]) }, { timeout: 120000 });
      r = { length: textOf(res).length };
      break;
    }
    case 'bench': {
      const calls = [];
      for (let i = 0; i < Number(args[0]); i++) {
        const c0 = performance.now();
        await call('echo', { text: 'x' });
        calls.push(performance.now() - c0);
      }
      r = { init_ms: initMs, calls_ms: calls };
      break;
    }
    case 'repl': await repl(); break;
    default: throw new Error(`unknown scenario ${sc}`);
  }
  return r;
}

const seen = { progress: 0, logs: 0 };

async function main() {
  transport = makeTransport();
  const t0 = performance.now();
  await client.connect(transport);
  initMs = performance.now() - t0;
  const deliver = transport.onmessage;
  transport.onmessage = (m, extra) => {
    if (m.method === 'notifications/progress') seen.progress += 1;
    if (m.method === 'notifications/message') seen.logs += 1;
    deliver(m, extra);
  };
  const r = scenario === 'call' ? await runCaught(scenario, args) : await run(scenario, args);
  if (r) out(r);
  if (transport.terminateSession) await transport.terminateSession().catch(() => {});
  await client.close();
  // stdin (repl) may still be held open by others; nothing more to do.
  process.exit(0);
}

main().catch((e) => die(e.stack ?? String(e)));
