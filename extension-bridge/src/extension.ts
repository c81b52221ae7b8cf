/*
 * extension.ts - wiring: the agent's state, the status bar, the commands,
 * the "mimir" authentication provider, Mimir's MCP servers and the
 * migration of credentials out of settings.  Everything registered goes to
 * context.subscriptions.
 */
import * as vscode from 'vscode';

import { MimirAuthProvider } from './auth';
import { registerCommands } from './commands';
import { LoginDeps } from './login';
import { mcpApiAvailable, MimirMcpProvider, PROVIDER_ID } from './mcp';
import { Migration } from './migrate';
import { AgentState } from './state';
import { StatusBar } from './statusbar';

export function activate(context: vscode.ExtensionContext): void {
    const log = vscode.window.createOutputChannel('Mimir', { log: true });
    const state = new AgentState();
    const deps: LoginDeps = { state, log, extensionKind: context.extension.extensionKind };
    const auth = new MimirAuthProvider(deps);
    const migration = new Migration(deps, context.globalState);
    context.subscriptions.push(
        log,
        state,
        new StatusBar(state, log),
        ...registerCommands(deps),
        vscode.commands.registerCommand('mimir.migrateSettings', () => migration.offer(true)),
        auth,
        vscode.authentication.registerAuthenticationProvider('mimir', 'Mimir', auth, { supportsMultipleAccounts: false }),
        migration,
        vscode.workspace.onDidChangeConfiguration((e) => {
            if (e.affectsConfiguration('mimir.profile'))
                state.refresh();
        }),
    );
    if (mcpApiAvailable()) {
        const servers = new MimirMcpProvider(deps, context.extension.packageJSON.version as string);
        context.subscriptions.push(servers, vscode.lm.registerMcpServerDefinitionProvider(PROVIDER_ID, servers));
    } else {
        log.info(`VS Code ${vscode.version} has no MCP server definition API (1.101+): Mimir's MCP servers are not offered`);
    }
    // Only commands may start the agent; the watcher just waits for one.
    state.start();
    void migration.offer(false);
}

export function deactivate(): void {
    // Everything lives in context.subscriptions.
}
