/*
 * auth.ts - the "mimir" AuthenticationProvider: other extensions call
 * vscode.authentication.getSession('mimir', scopes) and get the agent's
 * current access token (or API key).  The token is fetched from the agent
 * on every getSessions call, so it is always fresh; it is never stored or
 * logged here.
 *
 * Scopes select the profile: "profile:NAME" picks NAME, anything else the
 * configured (or default) profile.  There is one session per profile, with
 * the id "mimir:NAME".
 */
import * as vscode from 'vscode';

import { WatchedState } from './agent';
import { MimirError } from './errors';
import { login, LoginDeps, logout } from './login';
import { AgentClient, ProfileStatus, Reply } from './protocol';
import { configuredProfile } from './settings';

type ChangeEvent = vscode.AuthenticationProviderAuthenticationSessionsChangeEvent;

const SESSION_PREFIX = 'mimir:';

function profileOf(scopes: readonly string[] | undefined): string | undefined {
    return scopes?.find((s) => s.startsWith('profile:'))?.slice('profile:'.length) || configuredProfile();
}

/* A credential that can be served: ready, or being refreshed while the old one is still valid. */
function usable(p: ProfileStatus): boolean {
    return p.kind !== 'none' && p.has_credential && (p.state === 'ready' || p.state === 'refreshing' || p.state === 'retrying');
}

export class MimirAuthProvider implements vscode.AuthenticationProvider, vscode.Disposable {
    private readonly emitter = new vscode.EventEmitter<ChangeEvent>();
    readonly onDidChangeSessions = this.emitter.event;
    /** What each profile looked like at the last event: usable, and which token lifetime. */
    private seen = new Map<string, { usable: boolean; expires?: number; subject?: string }>();
    private readonly subscription: vscode.Disposable;

    constructor(private readonly deps: LoginDeps) {
        this.subscription = deps.state.onDidChange((s) => this.compare(s));
    }

    async getSessions(scopes?: readonly string[]): Promise<vscode.AuthenticationSession[]> {
        const names = scopes === undefined
            ? (this.deps.state.profiles ?? []).filter(usable).map((p) => p.name)
            : [profileOf(scopes)];
        let c: AgentClient;
        try {
            c = await AgentClient.connect(); // asking for sessions never starts the agent
        } catch {
            return [];
        }
        try {
            const out: vscode.AuthenticationSession[] = [];
            for (const name of names) {
                const s = await this.session(c, name, scopes ?? []).catch((e) => {
                    if (!(e instanceof MimirError))
                        throw e;
                    return undefined; // login_required, unknown_profile, ...: no session
                });
                if (s)
                    out.push(s);
            }
            return out;
        } finally {
            c.close();
        }
    }

    async createSession(scopes: readonly string[]): Promise<vscode.AuthenticationSession> {
        const name = profileOf(scopes);
        if (!(await login(this.deps, name)))
            throw new Error('Mimir: the sign-in did not complete');
        const [s] = await this.getSessions(scopes);
        if (!s)
            throw new Error('Mimir: signed in, but the agent has no credential for the profile');
        return s;
    }

    async removeSession(sessionId: string): Promise<void> {
        // VS Code asked the user already (Accounts menu: Sign Out).
        await logout(this.deps, sessionId.startsWith(SESSION_PREFIX) ? sessionId.slice(SESSION_PREFIX.length) : undefined, false);
    }

    private async session(c: AgentClient, name: string | undefined, scopes: readonly string[]): Promise<vscode.AuthenticationSession> {
        const r = await c.request<Reply & { profile: string; token: string }>('token', { min_ttl: 30 }, { profile: name });
        const subject = this.deps.state.profiles?.find((p) => p.name === r.profile)?.subject;
        return {
            id: SESSION_PREFIX + r.profile,
            accessToken: r.token,
            account: { id: subject ?? r.profile, label: subject ? `${subject} (${r.profile})` : r.profile },
            scopes,
        };
    }

    /* Sessions appear on login, vanish on logout or login_required, and
     * change when the agent got a new token (a refresh). */
    private compare(s: WatchedState): void {
        if (s.kind !== 'agent')
            return; // the agent is away: nothing is known to have changed
        const ev: { added: vscode.AuthenticationSession[]; removed: vscode.AuthenticationSession[]; changed: vscode.AuthenticationSession[] } = { added: [], removed: [], changed: [] };
        const next = new Map<string, { usable: boolean; expires?: number; subject?: string }>();
        for (const p of s.profiles) {
            const now = { usable: usable(p), expires: p.access_expires_at, subject: p.subject };
            const before = this.seen.get(p.name);
            next.set(p.name, now);
            // No token in events: listeners call getSession for a current one.
            const stub = { id: SESSION_PREFIX + p.name, accessToken: '', account: { id: p.subject ?? p.name, label: p.subject ?? p.name }, scopes: [] };
            if (now.usable && !before?.usable)
                ev.added.push(stub);
            else if (!now.usable && before?.usable)
                ev.removed.push(stub);
            else if (now.usable && (now.expires !== before?.expires || now.subject !== before?.subject))
                ev.changed.push(stub);
        }
        for (const [name, before] of this.seen)
            if (before.usable && !next.has(name))
                ev.removed.push({ id: SESSION_PREFIX + name, accessToken: '', account: { id: name, label: name }, scopes: [] });
        this.seen = next;
        if (ev.added.length || ev.removed.length || ev.changed.length)
            this.emitter.fire(ev);
    }

    dispose(): void {
        this.subscription.dispose();
        this.emitter.dispose();
    }
}
