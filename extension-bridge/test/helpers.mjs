// helpers.mjs - what the test files share: the compiled modules, a temp
// dir, polling, and a real mimir-agent per test.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after } from 'node:test';
import { fileURLToPath } from 'node:url';

const require = createRequire(import.meta.url);
export const { AgentClient, MimirError, MAX_LINE, socketPath } = require('../out/protocol.js');
export const { StateWatcher, connectOrStart, pickProfile, readProfile } = require('../out/agent.js');
export const { checkSocketDir } = require('../out/trust.js');

const here = dirname(fileURLToPath(import.meta.url));
const build = process.env.MM_BUILD ?? join(here, '..', '..', 'build');
export const agentBin = join(build, 'mimir-agent');
export const helperBin = join(build, 'mimir-helper');
// The agent needs a keyring; only the private session of run.sh has one
// that may be written to.
export const needAgent = process.env.MM_PRIVATE_DBUS === '1' ? {} : { skip: 'needs the private D-Bus session of test/run.sh' };

export const tmp = mkdtempSync(join(tmpdir(), 'mm-ext-'));
after(() => rmSync(tmp, { recursive: true, force: true }));

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export async function rejectsWith(promise, code) {
    const err = await promise.then(
        () => assert.fail(`expected an error with code ${code}`),
        (e) => e,
    );
    assert.ok(err instanceof MimirError, `not a MimirError: ${err}`);
    assert.equal(err.code, code, err.message);
    return err;
}

/** Poll fn until it returns a truthy value. */
export async function waitFor(what, fn, ms = 5000) {
    const end = Date.now() + ms;
    for (;;) {
        const v = await fn();
        if (v)
            return v;
        if (Date.now() > end)
            assert.fail(`timed out waiting for ${what}`);
        await sleep(20);
    }
}

// ---- a real agent -----------------------------------------------------------

let nAgents = 0;

/** Start `mimir-agent --foreground` on its own socket and config; resolves once it answers hello. */
export async function startAgent(dir, profiles = { local: { kind: 'api-key', server_url: 'http://127.0.0.1:8080/mcp' } }) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    const sock = join(dir, 'run', 'agent.sock');
    const config = join(dir, 'config.json');
    writeFileSync(config, JSON.stringify({ profiles }));
    const log = [];
    const proc = spawn(agentBin, ['--foreground', '--socket', sock, '--config', config], { stdio: ['ignore', 'ignore', 'pipe'] });
    proc.stderr.on('data', (d) => log.push(d.toString()));
    const exited = new Promise((r) => proc.once('exit', (code, sig) => r({ code, sig })));
    const agent = {
        sock, config, proc, log, exited, n: ++nAgents,
        async stop() {
            if (proc.exitCode === null && proc.signalCode === null)
                proc.kill('SIGTERM');
            return exited;
        },
    };
    await waitFor('the agent to answer hello', async () => {
        if (proc.exitCode !== null)
            assert.fail(`mimir-agent exited with ${proc.exitCode}:\n${log.join('')}`);
        try {
            const c = await AgentClient.connect({ path: sock, timeoutMs: 1000 });
            try {
                return await c.request('hello', {}, { timeoutMs: 1000 });
            } finally {
                c.close();
            }
        } catch {
            return undefined;
        }
    }, 10_000);
    return agent;
}

