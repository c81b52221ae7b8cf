/*
 * state.ts - the agent's profiles as the subscription last reported them,
 * shared by the status bar, the authentication provider and the MCP
 * server definitions.
 */
import * as vscode from 'vscode';

import { connectOrStart, pickProfile, StateWatcher, WatchedState } from './agent';
import { MimirError } from './errors';
import { AgentClient, ProfileStatus } from './protocol';
import { autostartHelper, configuredProfile } from './settings';

export class AgentState implements vscode.Disposable {
    private readonly emitter = new vscode.EventEmitter<WatchedState>();
    /** Fires after every status read and every change of reachability. */
    readonly onDidChange = this.emitter.event;
    private current: WatchedState | undefined;
    private readonly watcher = new StateWatcher({
        onChange: (s) => {
            this.current = s;
            this.emitter.fire(s);
        },
    });

    start(): void {
        this.watcher.start();
    }

    get state(): WatchedState | undefined {
        return this.current;
    }

    /** Every profile, or undefined while the agent is not reachable. */
    get profiles(): ProfileStatus[] | undefined {
        return this.current?.kind === 'agent' ? this.current.profiles : undefined;
    }

    /** The named (default: configured, else the agent's default) profile. */
    profile(name = configuredProfile()): ProfileStatus | MimirError | undefined {
        const all = this.profiles;
        return all ? pickProfile(all, name) : undefined;
    }

    /** Re-read now (a command just changed something). */
    refresh(): void {
        this.watcher.refresh();
    }

    /**
     * A connection for one command, starting the agent through the helper
     * when nobody listens (commands may; the status bar never does).
     */
    async connect(): Promise<AgentClient> {
        const c = await connectOrStart({ helperPath: autostartHelper() });
        this.watcher.reconnectNow(); // the agent may have just been started
        return c;
    }

    dispose(): void {
        this.watcher.dispose();
        this.emitter.dispose();
    }
}
