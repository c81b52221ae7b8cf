/*
 * commands.ts - the command palette: Login, Logout, Show Status, Add
 * Server, Configure MCP Clients (and the error reporting they share).
 */
import * as vscode from 'vscode';

import { asMimirError } from './errors';
import { login, LoginDeps, logout } from './login';
import { ProfileStatus, Reply } from './protocol';
import { configuredProfile, helperCommand } from './settings';
import { addServer, missingOAuthOption, OAuthClient, ServerMode, writeClientConfig } from './setup';

/** Register every command; the returned disposables go to context.subscriptions. */
export function registerCommands(deps: LoginDeps): vscode.Disposable[] {
    const cmd = (id: string, action: string, fn: (...args: unknown[]) => Promise<unknown>) =>
        vscode.commands.registerCommand(id, (...args: unknown[]) => run(deps, action, () => fn(...args)));
    const profileArg = (a: unknown) => (typeof a === 'string' && a ? a : undefined);
    return [
        cmd('mimir.login', 'Login', async (p) => {
            const name = profileArg(p) ?? (await chooseProfile(deps, 'Mimir: sign in to which profile?'));
            return name === null ? undefined : login(deps, name);
        }),
        cmd('mimir.logout', 'Logout', (p) => logout(deps, profileArg(p) ?? configuredProfile())),
        cmd('mimir.status', 'Status', () => status(deps)),
        cmd('mimir.addServer', 'Add Server', () => addServerCommand(deps)),
        cmd('mimir.configureClients', 'Configure MCP Clients', () => configureClients(deps)),
    ];
}

/**
 * The profile for a command run from the palette: the one in use, unless the
 * agent has several that can sign in; then a pick, the one in use first.
 * null: the user cancelled; undefined: the agent's default.
 */
async function chooseProfile(deps: LoginDeps, title: string): Promise<string | null | undefined> {
    const all = (deps.state.profiles ?? []).filter((p) => p.kind !== 'none');
    if (all.length < 2)
        return configuredProfile();
    const current = configuredProfile() ?? all.find((p) => p.default)?.name;
    all.sort((a, b) => Number(b.name === current) - Number(a.name === current));
    const pick = await vscode.window.showQuickPick(
        all.map((p) => ({ label: p.name, description: `${p.kind}, ${p.state.replace('_', ' ')}${p.name === current ? ' (in use)' : ''}`, detail: p.server_url })),
        { title, ignoreFocusOut: true },
    );
    return pick ? pick.label : null;
}

async function run(deps: LoginDeps, action: string, fn: () => Promise<unknown>): Promise<void> {
    try {
        await fn();
    } catch (e) {
        const err = asMimirError(e);
        deps.log.warn(`${action}: ${err.code}: ${err.message}`);
        if (err.code === 'agent_unreachable') {
            void vscode.window.showErrorMessage(
                `Mimir: ${err.message}. Start it by running "mimir-helper status" in a terminal ` +
                    '(or set mimir.helperPath so that this extension can start it).',
            );
        } else if (err.code === 'login_required') {
            const choice = await vscode.window.showWarningMessage(`Mimir: ${err.message}`, 'Login');
            if (choice)
                await vscode.commands.executeCommand('mimir.login');
        } else if (err.code === 'unknown_profile') {
            const choice = await vscode.window.showWarningMessage(`Mimir: ${err.message}`, 'Add Server');
            if (choice)
                await vscode.commands.executeCommand('mimir.addServer');
        } else {
            void vscode.window.showErrorMessage(`Mimir ${action.toLowerCase()} failed: ${err.message} (${err.code})`);
        }
    }
}

function when(epochSeconds: number): string {
    const d = new Date(epochSeconds * 1000);
    const min = Math.round((d.getTime() - Date.now()) / 60_000);
    return `${d.toLocaleTimeString()} (${min >= 0 ? `in ${min} min` : `${-min} min ago`})`;
}

/** One line about a profile, for tooltips and the status list. */
export function describe(p: ProfileStatus): string {
    return [
        p.access_expires_at ? `token valid until ${when(p.access_expires_at)}` : undefined,
        p.last_error && p.state !== 'ready' ? `${p.last_error.message} (${p.last_error.code})` : undefined,
        p.storage !== 'ok' ? `keyring: ${p.storage}` : undefined,
        p.state === 'login_required' ? 'select to log in' : undefined,
    ].filter(Boolean).join(' · ');
}

interface StatusItem extends vscode.QuickPickItem {
    run: () => Promise<unknown>;
}

async function status(deps: LoginDeps): Promise<void> {
    const c = await deps.state.connect();
    let profiles: ProfileStatus[];
    let title: string;
    try {
        const hello = await c.request('hello');
        const all = await c.request<Reply & { config: string; profiles: ProfileStatus[] }>('status');
        profiles = all.profiles;
        title = `mimir-agent ${String(hello.version)} (pid ${String(hello.pid)}), config ${all.config}`;
    } finally {
        c.close();
    }
    const chosen = configuredProfile() ?? profiles.find((p) => p.default)?.name;
    const items: StatusItem[] = profiles.map((p) => ({
        label: `${p.name === chosen ? '$(check) ' : ''}${p.name}`,
        description: `${p.kind}, ${p.state.replace('_', ' ')}${p.subject ? `, signed in as ${p.subject}` : ''}`,
        detail: describe(p) || p.server_url,
        run: () => (p.state === 'login_required' ? login(deps, p.name) : Promise.resolve()),
    }));
    items.push(
        { label: '$(add) Add Server…', run: () => addServerCommand(deps) },
        { label: '$(gear) Configure MCP Clients…', run: () => configureClients(deps) },
    );
    const pick = await vscode.window.showQuickPick(items, { title, placeHolder: profiles.length ? 'Mimir profiles' : 'No profile yet' });
    await pick?.run();
}

const MODES: (vscode.QuickPickItem & { mode?: ServerMode })[] = [
    { label: 'Detect', description: 'ask the server (/auth/config)' },
    { label: 'OAuth', description: 'sign in at the identity provider in your browser', mode: 'oauth' },
    { label: 'User name and password', description: "Mimir's own login", mode: 'dev' },
    { label: 'API key', mode: 'api-key' },
    { label: 'No security', description: 'the server needs no credential', mode: 'none' },
];

/* The helper asks a terminal for an OAuth issuer or client id the server does
 * not name; here the user is asked in an input box, and the setup runs again.
 * undefined: the user cancelled. */
async function addServerAsking(url: string, name: string | undefined, mode: ServerMode | undefined): Promise<{ profile: string; mode: string } | undefined> {
    const oauth: OAuthClient = {};
    for (;;) {
        try {
            return await addServer(helperCommand(), url, name, mode, oauth);
        } catch (e) {
            const need = missingOAuthOption(e);
            if (!need || oauth[need])
                throw e;
            const v = await vscode.window.showInputBox({
                title: 'Mimir: Add Server',
                prompt: need === 'issuer' ? "The identity provider's address (OAuth issuer URL)" : 'The OAuth client id registered for Mimir at the identity provider',
                ignoreFocusOut: true,
                validateInput: (t) => (t.trim() && !/\s/.test(t.trim()) ? undefined : 'One value without spaces'),
            });
            if (!v)
                return undefined;
            oauth[need] = v.trim();
        }
    }
}

/* "Mimir: Add Server": the same setup as `mimir-helper login --server`, then the usual login. */
async function addServerCommand(deps: LoginDeps): Promise<void> {
    const url = await vscode.window.showInputBox({
        title: 'Mimir: Add Server',
        prompt: "The Mimir server's address (its MCP endpoint or its base URL)",
        placeHolder: 'https://mimir.example.com',
        ignoreFocusOut: true,
        validateInput: (v) => (/^https?:\/\/[^\s/@]+(\/\S*)?$/.test(v.trim()) ? undefined : 'An http(s) address without spaces or user@'),
    });
    if (!url)
        return;
    const name = await vscode.window.showInputBox({
        title: 'Mimir: Add Server',
        prompt: 'Profile name (empty: derived from the host name)',
        ignoreFocusOut: true,
        validateInput: (v) => (/^[A-Za-z0-9._-]{0,64}$/.test(v) ? undefined : 'Letters, digits, ".", "_" and "-"'),
    });
    if (name === undefined)
        return;
    const mode = await vscode.window.showQuickPick(MODES, { title: 'Mimir: how does the server authenticate?', ignoreFocusOut: true });
    if (!mode)
        return;
    const added = await addServerAsking(url.trim(), name || undefined, mode.mode);
    if (!added)
        return;
    deps.log.info(`added server ${url.trim()} as profile ${added.profile} (${added.mode})`);
    deps.state.refresh();
    if (added.mode === 'none') {
        void vscode.window.showInformationMessage(`Mimir: profile "${added.profile}" added; the server needs no credential.`);
        return;
    }
    await login(deps, added.profile);
}

/* Clients whose config the helper can write.  VS Code is not among them:
 * this extension already gives VS Code Mimir's servers. */
const CLIENTS = [
    { id: 'claude-code', label: 'Claude Code', description: '.mcp.json in the workspace folder', inWorkspace: true },
    { id: 'cursor', label: 'Cursor', description: '~/.cursor/mcp.json', inWorkspace: false },
    { id: 'windsurf', label: 'Windsurf', description: '~/.codeium/windsurf/mcp_config.json', inWorkspace: false },
    { id: 'claude-desktop', label: 'Claude Desktop', description: '~/.config/Claude/claude_desktop_config.json', inWorkspace: false },
];

/* "Mimir: Configure MCP Clients": mimir-helper mcp-config CLIENT --write for each one picked. */
async function configureClients(deps: LoginDeps): Promise<void> {
    const picks = await vscode.window.showQuickPick(CLIENTS, {
        title: 'Mimir: write Mimir\'s MCP server into these clients\' configs',
        placeHolder: 'Each gets an entry that keeps working past token expiry (mimir-helper mcp-config)',
        canPickMany: true,
        ignoreFocusOut: true,
    });
    if (!picks?.length)
        return;
    const folder = vscode.workspace.workspaceFolders?.[0]?.uri;
    const wrote: string[] = [];
    const failed: string[] = [];
    for (const client of picks) {
        if (client.inWorkspace && folder?.scheme !== 'file') {
            failed.push(`${client.label}: open a local folder first`);
            continue;
        }
        try {
            const out = await writeClientConfig(helperCommand(), client.id, configuredProfile(), client.inWorkspace ? folder?.fsPath : undefined);
            deps.log.info(`${client.label}: ${out}`);
            wrote.push(`${client.label}: ${out.split('\n')[0]}`);
        } catch (e) {
            const err = asMimirError(e);
            deps.log.warn(`${client.label}: ${err.message}`);
            failed.push(`${client.label}: ${err.message}`);
        }
    }
    const text = [...wrote, ...failed].join(' ');
    const show = failed.length ? vscode.window.showWarningMessage : vscode.window.showInformationMessage;
    if ((await show(`Mimir: ${text}`, 'Show Log')) === 'Show Log')
        deps.log.show();
}
