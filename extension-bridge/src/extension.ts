/*
 * extension.ts - the VS Code side: commands, status bar, settings.
 *
 * The extension holds no credential: it asks mimir-agent to log in, log
 * out and report state.  It never requests a token, so none can end up in
 * settings, logs or the output channel.
 */
import * as vscode from 'vscode';

import { asMimirError, connectOrStart, loadedProfile, readProfile, StateWatcher, WatchedState } from './agent';
import { AgentClient, MimirError, ProfileStatus, Reply } from './protocol';

interface LoginReply extends Reply {
    login_id: string;
    profile: string;
    mode: 'browser' | 'device';
    expires_at: number;
    url?: string;
    browser_opened?: boolean;
    user_code?: string;
    verification_uri?: string;
    verification_uri_complete?: string;
}

interface LoginDone extends Reply {
    profile: string;
    subject?: string;
    expires_at?: number;
}

interface LogoutReply extends Reply {
    profile: string;
    revoked: boolean;
    revoke_error?: string;
}

let log: vscode.LogOutputChannel;
let watcher: StateWatcher;

export function activate(context: vscode.ExtensionContext): void {
    log = vscode.window.createOutputChannel('Mimir', { log: true });
    const item = vscode.window.createStatusBarItem('mimir.state', vscode.StatusBarAlignment.Right, 100);
    item.name = 'Mimir';
    watcher = new StateWatcher({
        profile: configuredProfile,
        onChange: (s) => render(item, s),
    });
    context.subscriptions.push(
        log,
        item,
        watcher,
        vscode.commands.registerCommand('mimir.login', (profile?: string) => run('Login', () => login(profile))),
        vscode.commands.registerCommand('mimir.logout', () => run('Logout', logout)),
        vscode.commands.registerCommand('mimir.status', () => run('Status', status)),
        vscode.workspace.onDidChangeConfiguration((e) => {
            if (e.affectsConfiguration('mimir.profile'))
                watcher.refresh();
        }),
    );
    render(item, undefined);
    item.show();
    // Only commands may start the agent; the status bar just waits for one.
    watcher.start();
}

export function deactivate(): void {
    // Everything lives in context.subscriptions.
}

function configuredProfile(): string | undefined {
    return vscode.workspace.getConfiguration('mimir').get<string>('profile')?.trim() || undefined;
}

function connect(): Promise<AgentClient> {
    const helperPath = vscode.workspace.getConfiguration('mimir').get<string>('helperPath')?.trim();
    return connectOrStart({ helperPath }).then((c) => {
        watcher.reconnectNow(); // the agent may have just been started
        return c;
    });
}

/* ---- status bar ------------------------------------------------------- */

function render(item: vscode.StatusBarItem, s: WatchedState | undefined): void {
    item.backgroundColor = undefined;
    item.command = 'mimir.status';
    if (!s) {
        item.text = '$(sync~spin) Mimir';
        item.tooltip = 'Mimir: connecting to mimir-agent';
        return;
    }
    if (s.kind !== 'profile') {
        log.info(`status bar: ${s.error.code}: ${s.error.message}`);
        item.text = s.kind === 'down' ? '$(debug-disconnect) Mimir: agent not running' : '$(warning) Mimir: no profile';
        item.tooltip = `${s.error.message}\n\nClick for status${s.kind === 'down' ? ' (this starts the agent)' : ''}.`;
        item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
        return;
    }
    const p = s.profile;
    const who = p.subject ?? p.name;
    const tip = [`Mimir profile "${p.name}" (${p.kind}): ${p.state.replace('_', ' ')}`];
    if (p.subject)
        tip.push(`Signed in as ${p.subject}`);
    if (p.access_expires_at)
        tip.push(`Access token valid until ${when(p.access_expires_at)}`);
    if (p.last_error && p.state !== 'ready')
        tip.push(`${p.last_error.message} (${p.last_error.code})`);
    item.tooltip = tip.join('\n');
    switch (p.state) {
        case 'ready':
            item.text = `$(key) Mimir: ${who}`;
            break;
        case 'loading':
        case 'refreshing':
            item.text = `$(sync~spin) Mimir: ${who}`;
            break;
        case 'logging_in':
            item.text = '$(sync~spin) Mimir: signing in';
            break;
        case 'retrying':
            item.text = `$(warning) Mimir: ${who} (retrying)`;
            item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
            break;
        case 'login_required':
            item.text = '$(warning) Mimir: login required';
            item.command = { title: 'Login', command: 'mimir.login', arguments: [p.name] };
            item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
            break;
        default: // storage_error, or a state newer than this extension
            item.text = `$(error) Mimir: ${p.state.replace('_', ' ')}`;
            item.backgroundColor = new vscode.ThemeColor('statusBarItem.errorBackground');
    }
}

function when(epochSeconds: number): string {
    const d = new Date(epochSeconds * 1000);
    const min = Math.round((d.getTime() - Date.now()) / 60_000);
    return `${d.toLocaleTimeString()} (${min >= 0 ? `in ${min} min` : `${-min} min ago`})`;
}

/* ---- commands ----------------------------------------------------------- */

async function run(action: string, fn: () => Promise<void>): Promise<void> {
    try {
        await fn();
    } catch (e) {
        const err = asMimirError(e);
        log.warn(`${action}: ${err.code}: ${err.message}`);
        if (err.code === 'agent_unreachable') {
            void vscode.window.showErrorMessage(
                `Mimir: ${err.message}. Start it by running "mimir-helper status" in a terminal ` +
                    '(or set mimir.helperPath so that this extension can start it).',
            );
        } else if (err.code === 'login_required') {
            const choice = await vscode.window.showWarningMessage(`Mimir: ${err.message}`, 'Login');
            if (choice)
                await vscode.commands.executeCommand('mimir.login');
        } else {
            void vscode.window.showErrorMessage(`Mimir ${action.toLowerCase()} failed: ${err.message} (${err.code})`);
        }
    } finally {
        watcher.refresh();
    }
}

async function login(profileArg?: string): Promise<void> {
    const profile = typeof profileArg === 'string' && profileArg ? profileArg : configuredProfile();
    const c = await connect();
    try {
        await loadedProfile(c, profile);
        let r: LoginReply;
        try {
            // The agent opens the system browser itself (it knows how, also
            // when VS Code is not in front); we only step in when it could not.
            r = await c.request<LoginReply>('login', { open_browser: true }, { profile, timeoutMs: 30_000 });
        } catch (e) {
            if (e instanceof MimirError && e.code === 'wrong_kind')
                return await setApiKey(c, profile);
            throw e;
        }
        log.info(`login for profile ${r.profile} started (${r.mode}${r.joined ? ', joined a running login' : ''})`);
        if (r.mode === 'device')
            void showDeviceCode(r);
        else
            await showBrowserUrl(r);
        const done = await vscode.window.withProgress(
            { location: vscode.ProgressLocation.Notification, title: `Mimir: waiting for the sign-in to "${r.profile}"…`, cancellable: true },
            (_progress, cancel) =>
                new Promise<LoginDone | undefined>((resolve, reject) => {
                    cancel.onCancellationRequested(() => {
                        c.close(); // stop waiting; the agent ends the login at its deadline
                        resolve(undefined);
                    });
                    const timeoutMs = Math.max(r.expires_at * 1000 - Date.now(), 0) + 30_000;
                    c.request<LoginDone>('login_wait', { login_id: r.login_id }, { profile: r.profile, timeoutMs }).then(resolve, reject);
                }),
        );
        if (done)
            void vscode.window.showInformationMessage(`Mimir: signed in as ${done.subject ?? '(unknown subject)'} (profile "${done.profile}").`);
    } finally {
        c.close();
    }
}

async function showBrowserUrl(r: LoginReply): Promise<void> {
    const url = r.url ?? '';
    // Pass the string, not vscode.Uri.parse(url): Uri re-encodes the query
    // and breaks OAuth parameters (microsoft/vscode#85930); openExternal
    // accepts a string at run time for exactly this reason.
    const open = () => vscode.env.openExternal(url as unknown as vscode.Uri);
    if (!r.browser_opened)
        await open();
    void vscode.window.showInformationMessage(`Mimir: sign in to "${r.profile}" in your browser: ${url}`, 'Copy', 'Open').then((choice) => {
        if (choice === 'Copy')
            void vscode.env.clipboard.writeText(url);
        else if (choice === 'Open')
            void open();
    });
}

async function showDeviceCode(r: LoginReply): Promise<void> {
    const uri = r.verification_uri_complete ?? r.verification_uri ?? '';
    const choice = await vscode.window.showInformationMessage(
        `Mimir: enter the code ${r.user_code} at ${r.verification_uri} to sign in to "${r.profile}".`,
        'Copy Code and Open',
    );
    if (choice) {
        await vscode.env.clipboard.writeText(r.user_code ?? '');
        await vscode.env.openExternal(uri as unknown as vscode.Uri);
    }
}

/* API-key profiles do not log in: "Login" asks for the key instead.  The
 * input box masks it and it goes straight to the agent (and the keyring). */
async function setApiKey(c: AgentClient, profile: string | undefined): Promise<void> {
    const key = await vscode.window.showInputBox({
        title: `Mimir: API key for ${profile ? `profile "${profile}"` : 'the default profile'}`,
        prompt: 'This profile uses an API key. It is stored in the system keyring by mimir-agent, not in VS Code.',
        password: true,
        ignoreFocusOut: true,
        validateInput: (v) => (/^[\x21-\x7e]{1,4096}$/.test(v) ? undefined : 'Printable characters without spaces, at most 4096'),
    });
    if (!key)
        return;
    const r = await c.request('set_api_key', { api_key: key }, { profile, timeoutMs: 30_000 });
    void vscode.window.showInformationMessage(`Mimir: API key stored for profile "${String(r.profile)}".`);
}

async function logout(): Promise<void> {
    const profile = configuredProfile();
    const what = profile ? `profile "${profile}"` : 'the default profile';
    const ok = await vscode.window.showWarningMessage(
        `Sign out of Mimir (${what})?`,
        { modal: true, detail: 'mimir-agent revokes the refresh token and erases the stored credential; every MCP client using this profile stops working until you log in again.' },
        'Sign Out',
    );
    if (!ok)
        return;
    const c = await connect();
    try {
        // Revocation is an HTTP call with the agent's own deadline (15 s by default).
        const r = await c.request<LogoutReply>('logout', {}, { profile, timeoutMs: 30_000 });
        const how = r.revoked ? 'the refresh token was revoked' : r.revoke_error ? `revocation failed (${r.revoke_error}); the local copy is erased` : 'the stored credential is erased';
        void vscode.window.showInformationMessage(`Mimir: signed out of "${r.profile}"; ${how}.`);
    } finally {
        c.close();
    }
}

interface ProfileItem extends vscode.QuickPickItem {
    profile: ProfileStatus;
}

async function status(): Promise<void> {
    const c = await connect();
    let items: ProfileItem[];
    let title: string;
    try {
        const hello = await c.request('hello');
        const chosen = await readProfile(c, configuredProfile()).catch(() => undefined);
        const all = await c.request<Reply & { config: string; profiles: ProfileStatus[] }>('status');
        title = `mimir-agent ${String(hello.version)} (pid ${String(hello.pid)}), config ${all.config}`;
        items = all.profiles.map((p) => ({
            profile: p,
            label: `${p.name === chosen?.name ? '$(check) ' : ''}${p.name}`,
            description: `${p.kind}, ${p.state.replace('_', ' ')}${p.subject ? `, signed in as ${p.subject}` : ''}`,
            detail: [
                p.access_expires_at ? `token valid until ${when(p.access_expires_at)}` : undefined,
                p.last_error && p.state !== 'ready' ? `${p.last_error.message} (${p.last_error.code})` : undefined,
                p.storage !== 'ok' ? `keyring: ${p.storage}` : undefined,
                p.state === 'login_required' ? 'select to log in' : undefined,
            ].filter(Boolean).join(' · ') || p.server_url,
        }));
    } finally {
        c.close();
    }
    if (!items.length) {
        void vscode.window.showWarningMessage(`Mimir: no profiles are configured (${title}). Add one with "mimir-helper profile add".`);
        return;
    }
    const pick = await vscode.window.showQuickPick(items, { title, placeHolder: 'Mimir profiles' });
    if (pick?.profile.state === 'login_required')
        await login(pick.profile.name);
}
