/*
 * settings.ts - what the extension reads from VS Code's settings.  None of
 * them holds a credential (migrate.ts removes the ones Mimir's own extension
 * used to keep there).
 */
import * as vscode from 'vscode';

/** mimir.profile: the profile to use; undefined: the agent's default. */
export function configuredProfile(): string | undefined {
    return vscode.workspace.getConfiguration('mimir').get<string>('profile')?.trim() || undefined;
}

/** mimir.helperPath as set: '' means "never start the agent from VS Code". */
export function autostartHelper(): string {
    return vscode.workspace.getConfiguration('mimir').get<string>('helperPath')?.trim() ?? 'mimir-helper';
}

/** The helper to run for setup commands and the MCP proxy (found on PATH when not absolute). */
export function helperCommand(): string {
    return autostartHelper() || 'mimir-helper';
}

export type LoginFlow = 'browser' | 'device';

/**
 * mimir.loginFlow.  "auto" takes the device grant when the browser may be
 * on another machine than the agent's redirect listener: VS Code in a
 * browser tab (code-server, vscode.dev) or this extension running in a
 * remote extension host.
 */
export function loginFlow(extensionKind: vscode.ExtensionKind): LoginFlow {
    const v = vscode.workspace.getConfiguration('mimir').get<string>('loginFlow');
    if (v === 'browser' || v === 'device')
        return v;
    const elsewhere = vscode.env.uiKind === vscode.UIKind.Web || (!!vscode.env.remoteName && extensionKind === vscode.ExtensionKind.Workspace);
    return elsewhere ? 'device' : 'browser';
}
