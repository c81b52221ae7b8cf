// setup.test.mjs - out/setup.js (the calls that create profiles, import
// credentials and write other clients' configs) against the real helper
// and agent.  A call the helper or agent does not know yet is reported as
// a skip that says so, not as a pass.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { AgentClient, helperBin, needAgent, rejectsWith, startAgent, tmp } from './helpers.mjs';
import { standInServer } from './standin.mjs';

const require = createRequire(import.meta.url);
const { addServer, importToken, missingOAuthOption, runHelper, writeClientConfig } = require('../out/setup.js');

/** A JWT-shaped token (unsigned: the agent only reads its exp). */
function fakeJwt(claims) {
    const b64 = (o) => Buffer.from(JSON.stringify(o)).toString('base64url');
    return `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64(claims)}.c2lnbmF0dXJl`;
}

describe('setup calls', needAgent, () => {
    test('runHelper: a helper that cannot run is agent_unreachable with the errno', async () => {
        const err = await rejectsWith(runHelper(join(tmp, 'no-such-helper'), ['status']), 'agent_unreachable');
        assert.equal(err.errno, 'ENOENT');
        const r = await runHelper(helperBin, ['no-such-command']);
        assert.equal(r.code, 2);
    });

    test("writeClientConfig: Cursor's config gets the proxy entry, the rest of the file is kept", async () => {
        const agent = await startAgent(join(tmp, 'mcpcfg'), { local: { kind: 'api-key', server_url: 'http://127.0.0.1:9/mcp' } });
        const saved = { ...process.env };
        process.env.MIMIR_AGENT_SOCK = agent.sock;
        process.env.MIMIR_CONFIG = agent.config;
        const file = join(process.env.HOME, '.cursor', 'mcp.json');
        try {
            const out = await writeClientConfig(helperBin, 'cursor', 'local');
            assert.match(out, /mcp\.json/);
            const entry = JSON.parse(readFileSync(file, 'utf8')).mcpServers.mimir;
            assert.equal(entry.command, helperBin);
            assert.deepEqual(entry.args.slice(0, 1), ['proxy']);
            await rejectsWith(writeClientConfig(helperBin, 'no-such-client', 'local'), 'unknown_op');
        } finally {
            process.env = saved;
            await agent.stop();
        }
    });

    test('addServer: mimir-helper login --server --no-login --json', async (t) => {
        const agent = await startAgent(join(tmp, 'addsrv'), {});
        const server = await standInServer();
        const saved = { ...process.env };
        process.env.MIMIR_AGENT_SOCK = agent.sock;
        process.env.MIMIR_CONFIG = agent.config;
        try {
            let r;
            try {
                r = await addServer(helperBin, `${server.base}/mcp`, 'added', 'none');
            } catch (e) {
                if (e.code === 'unknown_op')
                    return t.skip(`this mimir-helper has no "login --server" yet: ${e.message}`);
                throw e;
            }
            assert.deepEqual(r, { profile: 'added', mode: 'none' });
            assert.equal(JSON.parse(readFileSync(agent.config, 'utf8')).profiles.added.server_url, `${server.base}/mcp`);
        } finally {
            process.env = saved;
            server.close();
            await agent.stop();
        }
    });

    test('addServer: an OAuth server that names its issuer but no client id: the refusal says which, and the retry with it works', async () => {
        const agent = await startAgent(join(tmp, 'addoauth'), {});
        const server = await standInServer({ oauthIssuer: 'https://idp.example.test' });
        const saved = { ...process.env };
        process.env.MIMIR_AGENT_SOCK = agent.sock;
        process.env.MIMIR_CONFIG = agent.config;
        try {
            const err = await rejectsWith(addServer(helperBin, `${server.base}/mcp`, 'corp'), 'bad_request');
            assert.equal(missingOAuthOption(err), 'clientId', err.message);
            const r = await addServer(helperBin, `${server.base}/mcp`, 'corp', undefined, { clientId: 'mimir-vscode' });
            assert.deepEqual(r, { profile: 'corp', mode: 'oauth' });
            const p = JSON.parse(readFileSync(agent.config, 'utf8')).profiles.corp;
            assert.equal(p.issuer, 'https://idp.example.test');
            assert.equal(p.client_id, 'mimir-vscode');
            assert.equal(missingOAuthOption(new Error('pass --issuer URL')), 'issuer');
            assert.equal(missingOAuthOption(new Error('something else')), undefined);
        } finally {
            process.env = saved;
            server.close();
            await agent.stop();
        }
    });

    test('importToken: a Mimir token into a profile of kind mimir; the agent serves it', async (t) => {
        const agent = await startAgent(join(tmp, 'import'), { mim: { kind: 'mimir', server_url: 'http://127.0.0.1:9/mcp' } });
        const c = await AgentClient.connect({ path: agent.sock });
        try {
            const tok = fakeJwt({ sub: 'bob', exp: Math.floor(Date.now() / 1000) + 3600 });
            try {
                await importToken(c, 'mim', tok);
            } catch (e) {
                if (e.code === 'unknown_op' || e.code === 'config_error')
                    return t.skip(`this mimir-agent cannot import tokens yet: ${e.message}`);
                throw e;
            }
            const served = await c.request('token', {}, { profile: 'mim' });
            assert.equal(served.token, tok);
        } finally {
            c.close();
            await agent.stop();
        }
    });
});
