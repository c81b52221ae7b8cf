/*
 * mcp.ts - Mimir's MCP servers for VS Code's own MCP client (Copilot agent
 * mode and every extension that uses vscode.lm tools): one server per
 * agent profile that has a server_url.
 *
 * Each one is a stdio server that runs `mimir-helper proxy --profile P`
 * (README "MCP servers" says why): the proxy asks the agent for a fresh
 * credential on every request and retries once on a 401, so rotation and
 * expiry never reach VS Code, and signing out cuts the servers' credential
 * at the next request.  A profile without security (kind none) gets a plain
 * HTTP definition.  The definitions hold no credential, so the change event
 * fires only when the set of servers changes (VS Code stops a provider's
 * servers when it fires).
 */
import * as vscode from 'vscode';

import { configuredProfile, helperCommand } from './settings';
import { proxyArgs } from './setup';
import { LoginDeps } from './login';
import { ProfileStatus, socketPath } from './protocol';

export const PROVIDER_ID = 'mimir.servers';

/** True when this VS Code has the MCP server definition API (1.101 and later). */
export function mcpApiAvailable(): boolean {
    return typeof vscode.lm?.registerMcpServerDefinitionProvider === 'function';
}

function label(p: ProfileStatus): string {
    return `Mimir (${p.name})`;
}

export class MimirMcpProvider implements vscode.McpServerDefinitionProvider, vscode.Disposable {
    private readonly emitter = new vscode.EventEmitter<void>();
    readonly onDidChangeMcpServerDefinitions = this.emitter.event;
    private servers: ProfileStatus[] = [];
    private fingerprint = '';
    private readonly subscription: vscode.Disposable;

    constructor(private readonly deps: LoginDeps, private readonly version: string) {
        this.subscription = deps.state.onDidChange(() => this.update());
        this.update();
    }

    /* Only while the agent answers: an agent restart must not take the
     * servers away (VS Code would stop them). */
    private update(): void {
        const all = this.deps.state.profiles;
        if (!all)
            return;
        const servers = all.filter((p) => p.server_url);
        const fp = JSON.stringify(servers.map((p) => [p.name, p.kind, p.server_url]));
        if (fp === this.fingerprint)
            return;
        this.fingerprint = fp;
        this.servers = servers;
        this.deps.log.info(`MCP servers: ${servers.map((p) => p.name).join(', ') || 'none'}`);
        this.emitter.fire();
    }

    provideMcpServerDefinitions(): vscode.McpServerDefinition[] {
        return this.servers.map((p) => this.definition(p));
    }

    private definition(p: ProfileStatus): vscode.McpServerDefinition {
        if (p.kind === 'none')
            return new vscode.McpHttpServerDefinition(label(p), vscode.Uri.parse(p.server_url ?? ''), {}, this.version);
        // The proxy must find the agent we talk to, whatever environment VS Code gives it.
        const env: Record<string, string> = {};
        try {
            env.MIMIR_AGENT_SOCK = socketPath();
        } catch {
            // a bad MIMIR_AGENT_SOCK: the proxy reports it itself
        }
        return new vscode.McpStdioServerDefinition(label(p), helperCommand(), proxyArgs(p.name), env, this.version);
    }

    /* VS Code is about to start the server.  A profile that needs a login
     * fails the start at once with a clear message, and the user is offered
     * the login: waiting here for an answer would hold every server that
     * VS Code starts together with this one ("start all", a chat request). */
    resolveMcpServerDefinition(server: vscode.McpServerDefinition): vscode.McpServerDefinition {
        const p = this.servers.find((s) => label(s) === server.label);
        if (!p || p.kind === 'none')
            return server;
        const now = this.deps.state.profiles?.find((s) => s.name === p.name) ?? p;
        this.deps.log.info(`starting MCP server ${server.label} (profile state ${now.state})`);
        if (now.state !== 'login_required')
            return server;
        void vscode.window.showWarningMessage(`Mimir: sign in to "${p.name}" to use its MCP server, then start it again.`, 'Login').then((choice) => {
            if (choice)
                void vscode.commands.executeCommand('mimir.login', p.name);
        });
        throw new Error(`Mimir profile "${p.name}" is not signed in (Mimir: Login${p.name === configuredProfile() ? '' : `, profile ${p.name}`})`);
    }

    dispose(): void {
        this.subscription.dispose();
        this.emitter.dispose();
    }
}
