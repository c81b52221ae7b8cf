/*
 * login.ts - signing in and out of a profile, whatever its kind:
 *   oauth    the agent's login; we open its URL with vscode.env.openExternal
 *            (or show the device code) and wait for login_wait;
 *   mimir    Mimir's own username/password login, through the agent;
 *   api-key  the key, asked for in a masked input box, goes to set_api_key;
 *   none     nothing to do: the server runs without security.
 * The agent keeps every credential; VS Code stores none.
 */
import * as vscode from 'vscode';

import { readProfile } from './agent';
import { AgentClient, ProfileStatus, Reply } from './protocol';
import { configuredProfile, loginFlow } from './settings';
import { passwordLogin } from './setup';
import { AgentState } from './state';

interface LoginReply extends Reply {
    login_id?: string;
    profile: string;
    mode?: 'browser' | 'device';
    expires_at?: number;
    url?: string;
    user_code?: string;
    verification_uri?: string;
    verification_uri_complete?: string;
    subject?: string;
}

interface LogoutReply extends Reply {
    profile: string;
    revoked: boolean;
    revoke_error?: string;
}

export interface LoginDeps {
    state: AgentState;
    log: vscode.LogOutputChannel;
    extensionKind: vscode.ExtensionKind;
}

/** Sign in to PROFILE (default: the configured one).  True once it has a credential. */
export async function login(deps: LoginDeps, profile = configuredProfile()): Promise<boolean> {
    const c = await deps.state.connect();
    try {
        const p = await readProfile(c, profile);
        switch (p.kind) {
            case 'none':
                void vscode.window.showInformationMessage(`Mimir: "${p.name}" runs without security; there is nothing to sign in to.`);
                return true;
            case 'api-key':
                return await setApiKey(c, p);
            case 'mimir':
                return await passwordSignIn(deps, c, p);
            default:
                return await oauthSignIn(deps, c, p);
        }
    } finally {
        c.close();
        deps.state.refresh();
    }
}

async function oauthSignIn(deps: LoginDeps, c: AgentClient, p: ProfileStatus): Promise<boolean> {
    const device = loginFlow(deps.extensionKind) === 'device';
    // The agent opens no browser: we open the URL where the user is.
    const r = await c.request<LoginReply>('login', { open_browser: false, device }, { profile: p.name, timeoutMs: 30_000 });
    deps.log.info(`login for profile ${r.profile} started (${r.mode}${r.joined ? ', joined a running login' : ''})`);
    if (r.mode === 'device')
        void showDeviceCode(r);
    else
        await openAuthorizationUrl(r);
    return waitForLogin(deps, c, r);
}

async function openAuthorizationUrl(r: LoginReply): Promise<void> {
    const url = r.url ?? '';
    if (await vscode.env.openExternal(vscode.Uri.parse(url, true)))
        return;
    const choice = await vscode.window.showWarningMessage(`Mimir: open this address to sign in to "${r.profile}": ${url}`, 'Copy Address');
    if (choice)
        await vscode.env.clipboard.writeText(url);
}

async function showDeviceCode(r: LoginReply): Promise<void> {
    const open = r.verification_uri_complete ?? r.verification_uri ?? '';
    const choice = await vscode.window.showInformationMessage(
        `Mimir: to sign in to "${r.profile}", enter the code ${r.user_code} at ${r.verification_uri}`,
        'Copy Code and Open',
        'Copy Code',
    );
    if (!choice)
        return;
    await vscode.env.clipboard.writeText(r.user_code ?? '');
    if (choice === 'Copy Code and Open')
        await vscode.env.openExternal(vscode.Uri.parse(open, true));
}

/* Cancelling only stops our waiting: the agent ends the login at its own
 * deadline (the protocol has no op that cancels a login). */
async function waitForLogin(deps: LoginDeps, c: AgentClient, r: LoginReply): Promise<boolean> {
    const done = await vscode.window.withProgress(
        { location: vscode.ProgressLocation.Notification, title: `Mimir: waiting for the sign-in to "${r.profile}"…`, cancellable: true },
        (_progress, cancel) =>
            new Promise<LoginReply | undefined>((resolve, reject) => {
                cancel.onCancellationRequested(() => {
                    c.close();
                    resolve(undefined);
                });
                const timeoutMs = Math.max((r.expires_at ?? 0) * 1000 - Date.now(), 0) + 30_000;
                c.request<LoginReply>('login_wait', { login_id: r.login_id }, { profile: r.profile, timeoutMs }).then(resolve, reject);
            }),
    );
    if (!done)
        return false;
    deps.log.info(`signed in to ${done.profile} as ${done.subject ?? '(unknown subject)'}`);
    void vscode.window.showInformationMessage(`Mimir: signed in as ${done.subject ?? '(unknown subject)'} (profile "${done.profile}").`);
    return true;
}

/* Mimir's dev login: the password goes to the agent once; it keeps it
 * (in the keyring) only when asked to, to renew the token by itself. */
async function passwordSignIn(deps: LoginDeps, c: AgentClient, p: ProfileStatus): Promise<boolean> {
    const username = await vscode.window.showInputBox({ title: `Mimir: sign in to "${p.name}"`, prompt: 'User name', ignoreFocusOut: true });
    if (!username)
        return false;
    const password = await vscode.window.showInputBox({ title: `Mimir: sign in to "${p.name}" as ${username}`, prompt: 'Password', password: true, ignoreFocusOut: true });
    if (!password)
        return false;
    const keep = await vscode.window.showQuickPick(
        [
            { label: 'Keep me signed in', description: 'the agent keeps the password in the system keyring and renews the token', remember: true },
            { label: 'Sign in this once', description: 'sign in again when the token expires', remember: false },
        ],
        { title: 'Mimir: remember the password?', ignoreFocusOut: true },
    );
    if (!keep)
        return false;
    const r = await c.request<LoginReply>('login', passwordLogin(username, password, keep.remember), { profile: p.name, timeoutMs: 30_000 });
    if (r.login_id)
        return waitForLogin(deps, c, r);
    void vscode.window.showInformationMessage(`Mimir: signed in as ${r.subject ?? username} (profile "${r.profile}").`);
    return true;
}

async function setApiKey(c: AgentClient, p: ProfileStatus): Promise<boolean> {
    const key = await vscode.window.showInputBox({
        title: `Mimir: API key for profile "${p.name}"`,
        prompt: 'mimir-agent stores it in the system keyring; VS Code keeps no copy.',
        password: true,
        ignoreFocusOut: true,
        validateInput: (v) => (/^[\x21-\x7e]{1,4096}$/.test(v) ? undefined : 'Printable characters without spaces, at most 4096'),
    });
    if (!key)
        return false;
    await c.request('set_api_key', { api_key: key }, { profile: p.name, timeoutMs: 30_000 });
    void vscode.window.showInformationMessage(`Mimir: API key stored for profile "${p.name}".`);
    return true;
}

/** Sign out of PROFILE: the agent revokes and erases; every MCP server of it loses its credential at once. */
export async function logout(deps: LoginDeps, profile = configuredProfile(), confirm = true): Promise<void> {
    if (confirm) {
        const what = profile ? `profile "${profile}"` : 'the default profile';
        const ok = await vscode.window.showWarningMessage(
            `Sign out of Mimir (${what})?`,
            { modal: true, detail: 'mimir-agent revokes the refresh token and erases the stored credential; Mimir\'s MCP servers and every other client of this profile stop working until you sign in again.' },
            'Sign Out',
        );
        if (!ok)
            return;
    }
    const c = await deps.state.connect();
    try {
        // Revocation is an HTTP call with the agent's own deadline (15 s by default).
        const r = await c.request<LogoutReply>('logout', {}, { profile, timeoutMs: 30_000 });
        const how = r.revoked ? 'the refresh token was revoked' : r.revoke_error ? `revocation failed (${r.revoke_error}); the local copy is erased` : 'the stored credential is erased';
        deps.log.info(`signed out of ${r.profile}: ${how}`);
        void vscode.window.showInformationMessage(`Mimir: signed out of "${r.profile}"; ${how}.`);
    } finally {
        c.close();
        deps.state.refresh();
    }
}

