/*
 * statusbar.ts - one item for the profile in use, kept current by the
 * agent's events; a click opens what that state needs.
 */
import * as vscode from 'vscode';

import { describe } from './commands';
import { MimirError } from './errors';
import { AgentState } from './state';

export class StatusBar implements vscode.Disposable {
    private readonly item = vscode.window.createStatusBarItem('mimir.state', vscode.StatusBarAlignment.Right, 100);
    private readonly subscription: vscode.Disposable;

    constructor(private readonly state: AgentState, private readonly log: vscode.LogOutputChannel) {
        this.item.name = 'Mimir';
        this.subscription = state.onDidChange(() => this.render());
        this.render();
        this.item.show();
    }

    render(): void {
        const item = this.item;
        const s = this.state.state;
        item.backgroundColor = undefined;
        item.command = 'mimir.status';
        if (!s) {
            item.text = '$(sync~spin) Mimir';
            item.tooltip = 'Mimir: connecting to mimir-agent';
            return;
        }
        const p = s.kind === 'agent' ? this.state.profile() : s.error;
        if (!p || p instanceof MimirError) {
            const err = p ?? new MimirError('internal', 'no status');
            this.log.info(`status bar: ${err.code}: ${err.message}`);
            const down = s.kind === 'down';
            const none = !down && s.kind === 'agent' && s.profiles.length === 0;
            item.text = down ? '$(debug-disconnect) Mimir: agent not running' : none ? '$(add) Mimir: add a server' : '$(warning) Mimir: no profile';
            item.tooltip = `${err.message}\n\nClick for ${none ? 'Add Server' : `status${down ? ' (this starts the agent)' : ''}`}.`;
            if (none)
                item.command = 'mimir.addServer';
            item.backgroundColor = new vscode.ThemeColor('statusBarItem.warningBackground');
            return;
        }
        const who = p.subject ?? p.name;
        item.tooltip = [`Mimir profile "${p.name}" (${p.kind}): ${p.state.replace('_', ' ')}`, p.subject ? `Signed in as ${p.subject}` : '', describe(p)]
            .filter(Boolean)
            .join('\n');
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

    dispose(): void {
        this.subscription.dispose();
        this.item.dispose();
    }
}
