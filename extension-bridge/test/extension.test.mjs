// extension.test.mjs - out/extension.js driven through a stand-in for the
// `vscode` module (vscode-stub.cjs) against the real mimir-agent: status
// bar, the three commands, the settings.  What it cannot show is VS Code
// itself (see README: a code-server run by hand).
import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { describe, test } from 'node:test';

import { needAgent, startAgent, tmp, waitFor } from './helpers.mjs';

const require = createRequire(import.meta.url);
const Module = require('node:module');
const stubPath = require.resolve('./vscode-stub.cjs');
const resolve = Module._resolveFilename;
Module._resolveFilename = function (request, ...rest) {
    return request === 'vscode' ? stubPath : resolve.call(this, request, ...rest);
};
const vscode = require('vscode');
const stub = vscode._stub;
const ext = require('../out/extension.js');

describe('extension', needAgent, () => {
    test('status bar, login (API key), status, logout, settings, agent gone', async () => {
        const agent = await startAgent(join(tmp, 'ext'), {
            local: { kind: 'api-key' },
            other: { kind: 'api-key' },
        });
        process.env.MIMIR_AGENT_SOCK = agent.sock; // the extension derives the path like the helper
        const context = { subscriptions: [] };
        const key = 'ext-secret-' + Math.random().toString(36).slice(2);
        try {
            ext.activate(context);
            const item = stub.statusItems[0];
            assert.ok(item.visible);
            const shows = (text) => waitFor(`status bar "${text}" (now "${item.text}")`, () => item.text === text);

            // Two profiles and no default_profile: the agent has no default,
            // so the setting must name one.
            await shows('$(warning) Mimir: no profile');
            assert.match(item.tooltip, /no default profile/);
            stub.settings['mimir.profile'] = 'local';
            stub.configChanged.fire({ affectsConfiguration: (s) => s === 'mimir.profile' });
            await shows('$(warning) Mimir: login required');
            assert.deepEqual(item.command, { title: 'Login', command: 'mimir.login', arguments: ['local'] });

            // Login on an api-key profile asks for the key (masked) and stores it.
            let inputOpts;
            stub.answers.input = (opts) => ((inputOpts = opts), key);
            await vscode.commands.executeCommand(item.command.command, ...item.command.arguments);
            assert.equal(inputOpts.password, true);
            assert.match(stub.shown.at(-1).message, /API key stored for profile "local"/);
            await shows('$(key) Mimir: local');

            // Status: a quick pick of all profiles, the chosen one checked.
            let picked;
            stub.answers.quickpick = (items) => ((picked = items), undefined);
            await vscode.commands.executeCommand('mimir.status');
            assert.deepEqual(picked.map((i) => i.label), ['$(check) local', 'other']);
            assert.equal(picked[0].description, 'api-key, ready');
            assert.match(picked[1].detail, /select to log in/);

            // Logout asks first; "no" changes nothing.
            stub.answers.warning = () => undefined;
            await vscode.commands.executeCommand('mimir.logout');
            assert.equal(item.text, '$(key) Mimir: local');
            stub.answers.warning = (_m, items) => items[0];
            await vscode.commands.executeCommand('mimir.logout');
            assert.match(stub.shown.at(-1).message, /signed out of "local"/);
            await shows('$(warning) Mimir: login required');

            // An unknown profile: the agent runs, the setting is wrong.
            stub.settings['mimir.profile'] = 'nosuch';
            stub.configChanged.fire({ affectsConfiguration: (s) => s === 'mimir.profile' });
            await shows('$(warning) Mimir: no profile');

            // The agent goes away: the status bar says so, commands explain
            // how to start it (autostart is off: mimir.helperPath is '').
            await agent.stop();
            await shows('$(debug-disconnect) Mimir: agent not running');
            await vscode.commands.executeCommand('mimir.status');
            const err = stub.shown.at(-1);
            assert.equal(err.kind, 'error');
            assert.match(err.message, /mimir-helper status/);

            // Nothing the user sees or the log holds carries the key.
            const everything = JSON.stringify([stub.shown.map((s) => [s.message, s.items]), stub.logs, item]);
            assert.ok(!everything.includes(key), 'the API key leaked into a message or the log');
        } finally {
            for (const d of context.subscriptions)
                d.dispose();
            ext.deactivate();
            await agent.stop();
            delete process.env.MIMIR_AGENT_SOCK;
        }
        assert.ok(stub.statusItems[0].disposed);
        assert.equal(stub.commands.size, 0);
    });
});
