// protocol.test.mjs - the extension's protocol client (out/protocol.js,
// out/agent.js) against the real mimir-agent and mimir-helper.
//
// Run through test/run.sh: it compiles, then runs this file inside a
// private D-Bus session with an unlocked gnome-keyring and a private
// HOME.  Outside such a session the tests that need the agent are skipped
// (the keyring of the desktop session must never be touched).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, chownSync, mkdirSync, symlinkSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';

import {
    AgentClient, MAX_LINE, MimirError, StateWatcher, checkSocketDir, connectOrStart, helperBin, needAgent, pickProfile, readProfile,
    rejectsWith, sleep, socketPath, startAgent, tmp, waitFor,
} from './helpers.mjs';

// ---- socket path rules --------------------------------------------------------

describe('socket path', () => {
    test('follows the rules of common/paths.c', () => {
        assert.equal(socketPath({ MIMIR_AGENT_SOCK: '/x/a.sock', XDG_RUNTIME_DIR: '/run/user/7' }, 7), '/x/a.sock');
        assert.equal(socketPath({ XDG_RUNTIME_DIR: '/run/user/7' }, 7), '/run/user/7/mimir/agent.sock');
        assert.equal(socketPath({ MIMIR_AGENT_SOCK: '', XDG_RUNTIME_DIR: '/run/user/7' }, 7), '/run/user/7/mimir/agent.sock');
        assert.equal(socketPath({ XDG_RUNTIME_DIR: 'relative' }, 7), '/tmp/mimir-7/agent.sock');
        assert.equal(socketPath({}, 1000), '/tmp/mimir-1000/agent.sock');
        assert.throws(() => socketPath({ MIMIR_AGENT_SOCK: 'rel/a.sock' }, 7), { code: 'config_error' });
        assert.equal(socketPath({ MIMIR_AGENT_SOCK: '/' + 'a'.repeat(106) }, 7).length, 107);
        assert.throws(() => socketPath({ MIMIR_AGENT_SOCK: '/' + 'a'.repeat(107) }, 7), { code: 'config_error' });
        assert.throws(() => socketPath({ XDG_RUNTIME_DIR: '/' + 'a'.repeat(100) }, 7), { code: 'config_error' });
    });

    // mimir-helper names the path it tried when nobody listens: the C rules
    // themselves, applied to the same environments.
    test('agrees with mimir-helper', { skip: process.getuid ? false : 'no uid' }, async () => {
        const base = { PATH: process.env.PATH, MIMIR_NO_AUTOSTART: '1' };
        const envs = [
            { MIMIR_AGENT_SOCK: join(tmp, 'nobody', 'a.sock'), XDG_RUNTIME_DIR: '/nonexistent' },
            { XDG_RUNTIME_DIR: join(tmp, 'xdg') },
            { XDG_RUNTIME_DIR: 'relative' },
            {},
        ];
        for (const env of envs) {
            const stderr = await new Promise((resolve) =>
                execFile(helperBin, ['status'], { env: { ...base, ...env } }, (_err, _out, se) => resolve(se)));
            assert.match(stderr, /cannot reach mimir-agent at /, stderr);
            assert.ok(stderr.includes(`at ${socketPath(env)}:`), `helper: ${stderr.trim()}\nours: ${socketPath(env)}`);
        }
    });
});

// ---- client behaviour against fake servers -------------------------------------------

/** A Unix socket server whose connections do whatever onConn does. */
async function fakeServer(name, onConn) {
    const path = join(tmp, name);
    const conns = new Set();
    const srv = net.createServer((s) => {
        conns.add(s);
        s.on('close', () => conns.delete(s));
        s.on('error', () => {});
        onConn(s);
    });
    await new Promise((r) => srv.listen(path, r));
    return {
        path,
        close: () => {
            for (const s of conns)
                s.destroy();
            return new Promise((r) => srv.close(r));
        },
    };
}

describe('client', () => {
    test('nobody listening: agent_unreachable with the errno', async () => {
        const err = await rejectsWith(AgentClient.connect({ path: join(tmp, 'missing.sock') }), 'agent_unreachable');
        assert.equal(err.errno, 'ENOENT');
    });

    test('a request times out when the server never answers, and the connection stays usable', async () => {
        const received = [];
        // Never answers the first request; answers later ones.
        const srv = await fakeServer('silent.sock', (s) => {
            let buf = '';
            s.on('data', (d) => {
                buf += d;
                let nl;
                while ((nl = buf.indexOf('\n')) >= 0) {
                    const req = JSON.parse(buf.slice(0, nl));
                    buf = buf.slice(nl + 1);
                    received.push(req);
                    if (received.length > 1)
                        s.write(JSON.stringify({ v: 1, id: req.id, ok: true, agent: 'fake' }) + '\n');
                }
            });
        });
        const c = await AgentClient.connect({ path: srv.path });
        try {
            const t0 = Date.now();
            const err = await rejectsWith(c.request('hello', {}, { timeoutMs: 200 }), 'timeout');
            const took = Date.now() - t0;
            assert.ok(took >= 190 && took < 2000, `took ${took} ms`);
            assert.match(err.message, /"hello"/);
            assert.deepEqual(received[0], { v: 1, id: 1, op: 'hello' });
            const r = await c.request('hello', {}, { profile: 'p', timeoutMs: 2000 });
            assert.equal(r.agent, 'fake');
            assert.deepEqual(received[1], { v: 1, id: 2, op: 'hello', profile: 'p' });
        } finally {
            c.close();
            await srv.close();
        }
    });

    test('line cap: an over-long reply closes the connection with too_large', async () => {
        const srv = await fakeServer('long.sock', (s) => {
            s.once('data', () => s.write(JSON.stringify({ v: 1, id: 1, ok: true, pad: 'x'.repeat(MAX_LINE) }) + '\n'));
        });
        const c = await AgentClient.connect({ path: srv.path });
        const closed = new Promise((r) => c.onClose(r));
        try {
            await rejectsWith(c.request('hello'), 'too_large');
            assert.equal((await closed).code, 'too_large');
            assert.ok(c.closed);
        } finally {
            c.close();
            await srv.close();
        }
    });

    test('line cap: a request over 64 KiB is refused before sending', async () => {
        const srv = await fakeServer('cap.sock', () => {});
        const c = await AgentClient.connect({ path: srv.path });
        try {
            await rejectsWith(c.request('set_api_key', { api_key: 'k'.repeat(MAX_LINE) }), 'too_large');
            assert.ok(!c.closed);
        } finally {
            c.close();
            await srv.close();
        }
    });

    test('split lines, several replies per chunk, events and multibyte text', async () => {
        const srv = await fakeServer('split.sock', (s) => {
            s.once('data', () => {
                const out = Buffer.from(
                    JSON.stringify({ v: 1, event: 'state', profile: 'p', state: 'ready', subject: 'zoë' }) + '\n' +
                    JSON.stringify({ v: 1, id: 2, ok: false, error: { code: 'unknown_op', message: 'unknown op "x"' } }) + '\n' +
                    JSON.stringify({ v: 1, id: 1, ok: true, agent: 'ünïcode' }) + '\n');
                // one byte at a time: every split point, inside UTF-8 sequences too
                let i = 0;
                const drip = () => {
                    if (i < out.length && !s.destroyed) {
                        s.write(out.subarray(i, ++i));
                        setImmediate(drip);
                    }
                };
                drip();
            });
        });
        const c = await AgentClient.connect({ path: srv.path });
        try {
            const events = [];
            c.onEvent((ev) => events.push(ev));
            const [a, b] = await Promise.allSettled([c.request('hello'), c.request('x')]);
            assert.equal(a.value.agent, 'ünïcode');
            assert.equal(b.reason.code, 'unknown_op');
            assert.deepEqual(events, [{ v: 1, event: 'state', profile: 'p', state: 'ready', subject: 'zoë' }]);
        } finally {
            c.close();
            await srv.close();
        }
    });

    test('the server hanging up fails pending requests', async () => {
        const srv = await fakeServer('hangup.sock', (s) => s.once('data', () => s.end()));
        const c = await AgentClient.connect({ path: srv.path });
        try {
            await rejectsWith(c.request('hello'), 'io_error');
            await rejectsWith(c.request('hello'), 'io_error');
        } finally {
            c.close();
            await srv.close();
        }
    });
});

// ---- trust: the socket's directory (issue 8, finding 1) --------------------------------

describe('trust', () => {
    /** A server listening in DIR (made with MODE) that counts connections: none may arrive. */
    async function plantedServer(name, mode) {
        const dir = join(tmp, name);
        mkdirSync(dir, { mode });
        chmodSync(dir, mode); // mkdir's mode passes through the umask
        let connections = 0;
        const srv = await fakeServer(join(name, 'agent.sock'), (s) => {
            connections++;
            s.destroy();
        });
        return { dir, path: srv.path, connections: () => connections, close: srv.close };
    }

    test('a missing directory: agent_unreachable with ENOENT (starting an agent is safe)', async () => {
        const err = await rejectsWith(AgentClient.connect({ path: join(tmp, 'nodir', 'agent.sock') }), 'agent_unreachable');
        assert.equal(err.errno, 'ENOENT');
    });

    test('group/other access is refused before anything is sent, as the helper refuses it', async () => {
        const s = await plantedServer('open', 0o755);
        try {
            const err = await rejectsWith(AgentClient.connect({ path: s.path }), 'agent_unreachable');
            assert.match(err.message, /has mode 755; it must be 0700/);
            assert.match(err.message, /Nothing was sent/);
            assert.equal(err.errno, undefined, 'no errno: autostart must not try to "fix" it');
            await rejectsWith(connectOrStart({ path: s.path, helperPath: helperBin }), 'agent_unreachable');
            assert.equal(s.connections(), 0, 'nobody connected to the planted socket');
            const helperSays = await new Promise((resolve) =>
                execFile(helperBin, ['status'], { env: { PATH: process.env.PATH, MIMIR_AGENT_SOCK: s.path, MIMIR_NO_AUTOSTART: '1' } },
                    (e, _o, se) => resolve({ code: e?.code, stderr: se })));
            assert.equal(helperSays.code, 3, helperSays.stderr);
            assert.match(helperSays.stderr, /has mode 755; it must be 0700/);
            assert.equal(s.connections(), 0);
        } finally {
            await s.close();
        }
    });

    test('a symlink to a private directory is refused', async () => {
        const s = await plantedServer('real', 0o700);
        const link = join(tmp, 'link');
        symlinkSync(s.dir, link);
        try {
            const err = await rejectsWith(AgentClient.connect({ path: join(link, 'agent.sock') }), 'agent_unreachable');
            assert.match(err.message, /is not a directory \(symlinks are refused\)/);
            assert.equal(s.connections(), 0);
            // the directory itself is fine
            (await AgentClient.connect({ path: s.path })).close();
            await waitFor('the connection', () => s.connections() === 1);
        } finally {
            await s.close();
        }
    });

    test("another user's directory is refused", { skip: process.geteuid?.() === 0 ? false : 'needs root to chown' }, async () => {
        const s = await plantedServer('theirs', 0o700);
        chownSync(s.dir, 65534, 65534);
        try {
            const err = await rejectsWith(AgentClient.connect({ path: s.path }), 'agent_unreachable');
            assert.match(err.message, /is owned by uid 65534, not by us \(uid 0\)/);
            assert.equal(s.connections(), 0);
            await checkSocketDir(s.path, 65534); // it is fine for its owner
        } finally {
            await s.close();
        }
    });
});

// ---- the real agent -----------------------------------------------------------------

describe('with mimir-agent', needAgent, () => {
    let agent;
    before(async () => {
        agent = await startAgent(join(tmp, 'a1'));
    });
    after(async () => {
        await agent?.stop();
    });

    const connect = () => AgentClient.connect({ path: agent.sock });

    test('hello, and replies matched by id', async () => {
        const c = await connect();
        try {
            const [hello, status, bad] = await Promise.allSettled([
                c.request('hello'), c.request('status'), c.request('nope'),
            ]);
            assert.equal(hello.value.agent, 'mimir-agent');
            assert.equal(hello.value.protocol, 1);
            assert.equal(hello.value.pid, agent.proc.pid);
            assert.equal(hello.value.default_profile, 'local');
            assert.equal(status.value.profiles[0].name, 'local');
            assert.equal(bad.reason.code, 'unknown_op');
        } finally {
            c.close();
        }
    });

    test('unknown op: an error with code unknown_op', async () => {
        const c = await connect();
        try {
            const err = await rejectsWith(c.request('frobnicate'), 'unknown_op');
            assert.match(err.message, /frobnicate/);
            // the connection survives an error reply
            assert.equal((await c.request('hello')).agent, 'mimir-agent');
            await rejectsWith(c.request('status', {}, { profile: 'nosuch' }), 'unknown_profile');
            await rejectsWith(c.request('login'), 'wrong_kind');
        } finally {
            c.close();
        }
    });

    test('set_api_key, token, subscribe events, logout', async () => {
        const sub = await connect();
        const c = await connect();
        const events = [];
        sub.onEvent((ev) => events.push(ev));
        // Only events after `from`: loading the (empty) keyring item at
        // startup may have sent a login_required of its own.
        let from = 0;
        const stateSeen = (state) => waitFor(`a "${state}" event`, () => events.slice(from).find((e) => e.state === state));
        try {
            await sub.request('subscribe');
            // no key yet
            await rejectsWith(c.request('token'), 'login_required');
            const key = 'mk_test_' + Math.random().toString(36).slice(2);
            const set = await c.request('set_api_key', { api_key: key }, { profile: 'local' });
            assert.equal(set.profile, 'local');
            const ready = await stateSeen('ready');
            assert.deepEqual({ ...ready }, { v: 1, event: 'state', profile: 'local', state: 'ready' });

            const tok = await c.request('token');
            assert.equal(tok.token, key);
            assert.equal(tok.token_type, 'api-key');
            const hdr = await c.request('headers', {}, { profile: 'local' });
            assert.deepEqual(hdr.headers, { 'X-API-Key': key });
            assert.equal((await readProfile(c)).state, 'ready');

            from = events.length;
            const out = await c.request('logout');
            assert.equal(out.erased, true);
            const lr = await stateSeen('login_required');
            assert.equal(lr.profile, 'local');
            assert.equal(typeof lr.error.code, 'string');
            await rejectsWith(c.request('token'), 'login_required');
            assert.ok(!sub.closed, 'the subscription stays open');
        } finally {
            sub.close();
            c.close();
        }
    });

    test('bad input from the client gets bad_request', async () => {
        const c = await connect();
        try {
            await rejectsWith(c.request('set_api_key', { api_key: 'has space' }), 'bad_request');
            await rejectsWith(c.request('token', { min_ttl: -1 }), 'bad_request');
        } finally {
            c.close();
        }
    });
});

describe('StateWatcher and autostart', needAgent, () => {
    test('follows the profiles across an agent restart', async () => {
        let agent = await startAgent(join(tmp, 'w'));
        const seen = [];
        const w = new StateWatcher({
            onChange: (s) => seen.push(s),
            connect: () => AgentClient.connect({ path: agent.sock, timeoutMs: 1000 }),
            minDelayMs: 20,
            maxDelayMs: 200,
        });
        const last = () => seen[seen.length - 1];
        const local = () => (last()?.kind === 'agent' ? last().profiles.find((p) => p.name === 'local') : undefined);
        try {
            w.start();
            // loading (the keyring read), then login_required: no key yet
            await waitFor('login_required', () => local()?.state === 'login_required');

            // An event makes the watcher re-read the status.
            const c = await AgentClient.connect({ path: agent.sock });
            await c.request('set_api_key', { api_key: 'watched-key' });
            c.close();
            await waitFor('ready', () => local()?.state === 'ready');

            await agent.stop();
            await waitFor('"down"', () => last()?.kind === 'down');
            assert.equal(last().error.code, 'io_error');
            await sleep(100); // a few failed reconnects
            assert.equal(last().kind, 'down');
            assert.equal(last().error.code, 'agent_unreachable');

            agent = await startAgent(join(tmp, 'w')); // same socket; the key is in the keyring
            await waitFor('the state after the restart', () => local()?.state === 'ready', 5000);
        } finally {
            w.dispose();
            await agent.stop();
        }
    });

    test('pickProfile: the named, the default, or why not', async () => {
        const agent = await startAgent(join(tmp, 'u'), { local: { kind: 'api-key' }, other: { kind: 'api-key' } });
        const c = await AgentClient.connect({ path: agent.sock });
        try {
            const all = (await c.request('status')).profiles;
            assert.equal(pickProfile(all, 'other').name, 'other');
            const none = pickProfile(all, 'nosuch');
            assert.ok(none instanceof MimirError);
            assert.equal(none.code, 'unknown_profile');
            assert.match(pickProfile(all).message, /no default profile/); // two profiles, no default_profile
            assert.match(pickProfile([]).message, /Add Server/);
            await rejectsWith(readProfile(c, 'nosuch'), 'unknown_profile');
            assert.equal((await readProfile(c, 'local')).kind, 'api-key');
        } finally {
            c.close();
            await agent.stop();
        }
    });

    test('connectOrStart starts the agent through mimir-helper once', async () => {
        const dir = join(tmp, 'auto');
        mkdirSync(dir, { mode: 0o700 });
        const sock = join(dir, 'run', 'agent.sock');
        const config = join(dir, 'config.json');
        writeFileSync(config, JSON.stringify({ profiles: { auto: { kind: 'api-key' } } }));
        const env = { ...process.env, MIMIR_AGENT_SOCK: sock, MIMIR_CONFIG: config };
        delete env.MIMIR_NO_AUTOSTART;

        // Without a helper: the plain connection error.
        await rejectsWith(connectOrStart({ path: sock, helperPath: '' }), 'agent_unreachable');
        const bad = await rejectsWith(connectOrStart({ path: sock, helperPath: join(dir, 'no-such-helper'), env }), 'agent_unreachable');
        assert.match(bad.message, /no-such-helper/);

        const c = await connectOrStart({ path: sock, helperPath: helperBin, env });
        let pid;
        try {
            const hello = await c.request('hello');
            pid = hello.pid;
            assert.equal(hello.default_profile, 'auto');
            const p = await waitFor('the keyring read', async () => {
                const r = await readProfile(c);
                return r.state !== 'loading' && r;
            });
            assert.equal(p.name, 'auto');
            assert.equal(p.state, 'login_required');
        } finally {
            c.close();
            if (pid)
                process.kill(pid, 'SIGTERM'); // daemonized: not our child
        }
        await waitFor('the started agent to stop', () => {
            try {
                process.kill(pid, 0);
                return false;
            } catch {
                return true;
            }
        });
    });
});
