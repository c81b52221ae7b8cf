/*
 * agent.ts - reaching the agent (starting it through mimir-helper when it
 * is not running) and following a profile's state through `subscribe`.
 * No `vscode` import here either: the tests drive both against the real
 * agent and helper.
 */
import { execFile } from 'node:child_process';

import { asMimirError, MimirError } from './errors';
import { AgentClient, ConnectOptions, ProfileStatus, Reply } from './protocol';

export interface StartOptions extends ConnectOptions {
    /** mimir-helper to run when nobody listens on the socket; empty: never start. */
    helperPath?: string;
    /** Environment for the helper (default: ours, so it derives the same socket path). */
    env?: NodeJS.ProcessEnv;
}

/**
 * Connect; when nobody listens, run `mimir-helper status` once and try
 * again.  We let the helper start the agent instead of starting
 * mimir-agent ourselves: the helper already knows where the binary is,
 * daemonizes it and waits until its socket listens, and a user who runs
 * it in a terminal sees the same thing.
 */
export async function connectOrStart(opts: StartOptions = {}): Promise<AgentClient> {
    try {
        return await AgentClient.connect(opts);
    } catch (e) {
        const absent = e instanceof MimirError && (e.errno === 'ENOENT' || e.errno === 'ECONNREFUSED');
        if (!absent || !opts.helperPath)
            throw e;
        await runHelperStatus(opts.helperPath, opts.env ?? process.env, opts.timeoutMs ?? 10_000, e as MimirError);
        return AgentClient.connect(opts);
    }
}

function runHelperStatus(helper: string, env: NodeJS.ProcessEnv, timeoutMs: number, why: MimirError): Promise<void> {
    return new Promise((resolve, reject) => {
        // No shell; its output (profile names and states, no secrets) is not needed.
        execFile(helper, ['status'], { env, timeout: timeoutMs, windowsHide: true }, (err) => {
            const spawnFailed = err && typeof err.code === 'string'; // ENOENT, EACCES: the helper did not run
            if (spawnFailed)
                reject(new MimirError('agent_unreachable', `${why.message}; starting it with "${helper} status" failed: ${err.message}`, why.errno));
            else
                resolve(); // a non-zero status (e.g. 4, login required) still means the agent runs
        });
    });
}

/** What the watcher knows: every profile of the agent, or why it cannot tell. */
export type WatchedState =
    | { kind: 'agent'; profiles: ProfileStatus[] }
    | { kind: 'error'; error: MimirError } // the agent runs but `status` failed
    | { kind: 'down'; error: MimirError }; // the agent is not reachable; reconnecting

export interface WatcherOptions {
    onChange: (s: WatchedState) => void;
    connect?: () => Promise<AgentClient>;
    /** Reconnect backoff: doubles from min to max, back to min after a good connection. */
    minDelayMs?: number;
    maxDelayMs?: number;
}

/**
 * Keeps one `subscribe` connection open and re-reads every profile's status
 * whenever the agent reports a state change.  When the connection ends
 * (the agent stopped or restarted) it reconnects with exponential backoff.
 * The subscription connection also carries the `status` requests: status
 * never waits inside the agent, and subscribers are never closed as idle.
 */
export class StateWatcher {
    private client: AgentClient | undefined;
    private disposed = false;
    private wake: (() => void) | undefined;
    private delay: number;
    private readonly minDelay: number;
    private readonly maxDelay: number;

    constructor(private readonly opts: WatcherOptions) {
        this.minDelay = opts.minDelayMs ?? 1000;
        this.maxDelay = opts.maxDelayMs ?? 30_000;
        this.delay = this.minDelay;
    }

    start(): void {
        void this.loop();
    }

    /** Re-read the state now (a command finished). */
    refresh(): void {
        if (this.client)
            void this.update(this.client);
        else
            this.reconnectNow();
    }

    /** Skip the rest of the backoff delay (someone just started the agent). */
    reconnectNow(): void {
        this.delay = this.minDelay;
        this.wake?.();
    }

    dispose(): void {
        this.disposed = true;
        this.client?.close();
        this.wake?.();
    }

    private async loop(): Promise<void> {
        while (!this.disposed) {
            let c: AgentClient | undefined;
            try {
                c = await (this.opts.connect ?? (() => AgentClient.connect()))();
                if (this.disposed)
                    break;
                const conn = c;
                const closed = new Promise<MimirError>((resolve) => conn.onClose(resolve));
                conn.onEvent((ev) => {
                    if (ev.event === 'state')
                        void this.update(conn);
                });
                await conn.request('subscribe');
                this.client = conn;
                this.delay = this.minDelay;
                await this.update(conn);
                const why = await closed;
                if (!this.disposed)
                    this.opts.onChange({ kind: 'down', error: why });
            } catch (e) {
                if (!this.disposed)
                    this.opts.onChange({ kind: 'down', error: asMimirError(e) });
            } finally {
                c?.close();
                this.client = undefined;
            }
            if (this.disposed)
                break;
            await new Promise<void>((resolve) => {
                const t = setTimeout(resolve, this.delay);
                this.wake = () => {
                    clearTimeout(t);
                    resolve();
                };
            });
            this.wake = undefined;
            this.delay = Math.min(this.delay * 2, this.maxDelay);
        }
    }

    private async update(c: AgentClient): Promise<void> {
        let s: WatchedState;
        try {
            s = { kind: 'agent', profiles: await readProfiles(c) };
        } catch (e) {
            const err = asMimirError(e);
            if (c.closed)
                return; // the loop reports the connection's end
            s = { kind: 'error', error: err };
        }
        if (!this.disposed && this.client === c)
            this.opts.onChange(s);
    }
}

/** The named profile, or the agent's default one, out of a `status` list. */
export function pickProfile(profiles: ProfileStatus[], name?: string): ProfileStatus | MimirError {
    const p = name ? profiles.find((x) => x.name === name) : profiles.find((x) => x.default);
    if (p)
        return p;
    if (name)
        return new MimirError('unknown_profile', `the agent has no profile "${name}" (mimir.profile); see "mimir-helper status"`);
    return new MimirError(
        'unknown_profile',
        profiles.length
            ? 'the agent has no default profile; set mimir.profile or make one the default'
            : 'the agent has no profile yet; add a Mimir server with "Mimir: Add Server"',
    );
}

/** Every profile's status, fresh from the agent. */
export async function readProfiles(c: AgentClient): Promise<ProfileStatus[]> {
    return (await c.request<Reply & { profiles: ProfileStatus[] }>('status')).profiles;
}

/** The status of a profile, or of the agent's default one. */
export async function readProfile(c: AgentClient, profile?: string): Promise<ProfileStatus> {
    const p = pickProfile(await readProfiles(c), profile);
    if (p instanceof MimirError)
        throw p;
    return p;
}
