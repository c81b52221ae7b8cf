// A second extension for the VS Code suite (test/vscode/suite.mjs): it does
// what any other extension may do with Mimir's extension, on request of the
// test, over a small HTTP server on 127.0.0.1 whose port it writes to
// $MIMIR_TEST_DRIVER_PORT_FILE.  Requests are POST / with a JSON body
// {"op": ...}; answers are JSON ({"error": message} when the call threw).
'use strict';
const fs = require('node:fs');
const http = require('node:http');
const vscode = require('vscode');

const sessionEvents = [];

const ops = {
    // vscode.authentication.getSession('mimir', scopes, options)
    async getSession({ scopes = [], options = { silent: true } }) {
        const s = await vscode.authentication.getSession('mimir', scopes, options);
        return s ? { id: s.id, accessToken: s.accessToken, account: s.account, scopes: s.scopes } : null;
    },
    sessionEvents() {
        return sessionEvents;
    },
    // Start every MCP server (what the chat view does before a request) and
    // list the tools VS Code then knows.
    async startServers() {
        await vscode.commands.executeCommand('workbench.mcp.startServer', '*', { waitForLiveTools: true });
        return ops.tools();
    },
    tools() {
        return vscode.lm.tools.map((t) => t.name);
    },
    // A tool call as the language model would make it; VS Code asks the
    // user to confirm it first (the test clicks the dialog).
    async invokeTool({ name, input = {} }) {
        const r = await vscode.lm.invokeTool(name, { input, toolInvocationToken: undefined });
        return r.content.map((p) => (p instanceof vscode.LanguageModelTextPart ? p.value : JSON.stringify(p)));
    },
    async command({ id, args = [] }) {
        const r = await vscode.commands.executeCommand(id, ...args);
        return r === undefined ? null : r;
    },
    setting({ section, key }) {
        return vscode.workspace.getConfiguration(section).inspect(key) ?? null;
    },
    // Writes the user's settings.json the way any extension does (Mimir's
    // own extension kept its token there like this).
    async updateSetting({ section, key, value }) {
        await vscode.workspace.getConfiguration(section).update(key, value, vscode.ConfigurationTarget.Global);
        return null;
    },
};

function activate(context) {
    context.subscriptions.push(vscode.authentication.onDidChangeSessions((e) => {
        if (e.provider.id === 'mimir')
            sessionEvents.push(Date.now());
    }));
    const server = http.createServer((req, res) => {
        let body = '';
        req.on('data', (d) => (body += d));
        req.on('end', async () => {
            let out;
            try {
                const msg = JSON.parse(body || '{}');
                const fn = ops[msg.op];
                if (!fn)
                    throw new Error(`unknown op ${msg.op}`);
                out = { result: await fn(msg) };
            } catch (e) {
                out = { error: e instanceof Error ? e.message : String(e) };
            }
            res.writeHead(200, { 'content-type': 'application/json' });
            res.end(JSON.stringify(out));
        });
    });
    server.listen(0, '127.0.0.1', () => {
        const file = process.env.MIMIR_TEST_DRIVER_PORT_FILE;
        if (file)
            fs.writeFileSync(file, String(server.address().port));
    });
    context.subscriptions.push({ dispose: () => server.close() });
}

module.exports = { activate, deactivate() {} };
