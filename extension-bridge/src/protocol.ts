/*
 * protocol.ts - the client side of the mimir-agent socket protocol
 * (docs/protocol.md; the C side is include/mimir/proto.h).
 *
 * Deliberately free of any `vscode` import, so that the tests can run it
 * in plain Node against the real agent.
 */
import * as net from 'node:net';

import { MimirError } from './errors';
import { checkSocketDir } from './trust';

export { MimirError };

export const PROTOCOL_VERSION = 1;
/** Longest line either side may send, newline included (MM_PROTO_MAX_LINE). */
export const MAX_LINE = 64 * 1024;
/** sizeof(sockaddr_un.sun_path): the path plus its NUL must fit. */
const SUN_PATH_MAX = 108;

/**
 * The agent's socket, by the rules of common/paths.c: $MIMIR_AGENT_SOCK
 * (must be absolute), else $XDG_RUNTIME_DIR/mimir/agent.sock (only when
 * absolute), else /tmp/mimir-<uid>/agent.sock.  The last rule needs no
 * environment at all, which is why the helper and we can always agree.
 */
export function socketPath(
    env: NodeJS.ProcessEnv = process.env,
    uid: number = process.getuid?.() ?? 0,
): string {
    let p: string;
    const sock = env.MIMIR_AGENT_SOCK;
    const xdg = env.XDG_RUNTIME_DIR;
    if (sock) {
        if (!sock.startsWith('/'))
            throw new MimirError('config_error', `MIMIR_AGENT_SOCK must be an absolute path, not "${sock}"`);
        p = sock;
    } else if (xdg?.startsWith('/')) {
        p = `${xdg}/mimir/agent.sock`;
    } else {
        p = `/tmp/mimir-${uid}/agent.sock`;
    }
    if (Buffer.byteLength(p) >= SUN_PATH_MAX)
        throw new MimirError('config_error', `socket path is longer than ${SUN_PATH_MAX - 1} bytes: ${p}`);
    return p;
}

export type ProfileState =
    | 'loading' | 'ready' | 'refreshing' | 'retrying' | 'login_required' | 'logging_in' | 'storage_error';

export interface ErrorInfo {
    code: string;
    message: string;
}

/** A successful reply; the op's fields are documented in docs/protocol.md. */
export interface Reply {
    v: number;
    id?: number | string;
    ok: true;
    [field: string]: unknown;
}

/** Pushed to subscribers; `state` is the only event so far. */
export interface AgentEvent {
    v: number;
    event: string;
    profile?: string;
    state?: ProfileState;
    subject?: string;
    error?: ErrorInfo;
    [field: string]: unknown;
}

/** One profile as `status` describes it. */
export interface ProfileStatus {
    name: string;
    kind: 'oauth' | 'api-key' | 'mimir' | 'none';
    default: boolean;
    state: ProfileState;
    server_url?: string;
    issuer?: string;
    subject?: string;
    has_credential: boolean;
    access_expires_at?: number;
    next_refresh_at?: number;
    last_error?: ErrorInfo;
    storage: 'ok' | 'error' | 'unavailable';
}

export interface RequestOptions {
    /** Profile name; absent: the agent's default profile. */
    profile?: string;
    /** Deadline for the reply (default 10 s, like mimir-helper's). */
    timeoutMs?: number;
}

export interface ConnectOptions {
    /** Socket path; default: socketPath(). */
    path?: string;
    timeoutMs?: number;
}

export interface Disposable {
    dispose(): void;
}

interface Pending {
    resolve(reply: Reply): void;
    reject(err: MimirError): void;
    timer: NodeJS.Timeout;
}

const DEFAULT_TIMEOUT_MS = 10_000;

/**
 * One connection to the agent.  Requests may overlap: replies are matched
 * by id (the agent answers in order anyway, so a request that waits, like
 * login_wait, delays every later reply on the same connection: give long
 * waits a connection of their own).
 */
export class AgentClient {
    private nextId = 1;
    private readonly pending = new Map<number, Pending>();
    private readonly eventListeners = new Set<(ev: AgentEvent) => void>();
    private readonly closeListeners = new Set<(err: MimirError) => void>();
    private partial: Buffer = Buffer.alloc(0);
    private closedWith: MimirError | undefined;

    private constructor(private readonly sock: net.Socket, readonly path: string) {
        sock.on('data', (chunk) => this.onData(chunk));
        sock.on('error', (e: NodeJS.ErrnoException) =>
            this.fail(new MimirError('io_error', `connection to mimir-agent failed: ${e.message}`, e.code)));
        sock.on('close', () => this.fail(new MimirError('io_error', 'mimir-agent closed the connection')));
    }

    /** Checks the socket's directory (trust.ts), then connects; nothing is sent. */
    static async connect(opts: ConnectOptions = {}): Promise<AgentClient> {
        const path = opts.path ?? socketPath();
        await checkSocketDir(path);
        const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
        return new Promise((resolve, reject) => {
            const sock = net.createConnection({ path });
            const timer = setTimeout(() => {
                sock.destroy();
                reject(new MimirError('timeout', `connecting to mimir-agent at ${path} took over ${timeoutMs} ms`));
            }, timeoutMs);
            const onError = (e: NodeJS.ErrnoException) => {
                clearTimeout(timer);
                const why = e.code === 'ENOENT' || e.code === 'ECONNREFUSED' ? 'no agent is listening there' : e.message;
                reject(new MimirError('agent_unreachable', `cannot reach mimir-agent at ${path}: ${why}`, e.code));
            };
            sock.once('error', onError);
            sock.once('connect', () => {
                clearTimeout(timer);
                sock.off('error', onError);
                resolve(new AgentClient(sock, path));
            });
        });
    }

    get closed(): boolean {
        return this.closedWith !== undefined;
    }

    /** Send {"v":1,"id":N,"op":op,...fields}; resolves with the ok reply, rejects with a MimirError. */
    request<T extends Reply = Reply>(op: string, fields: Record<string, unknown> = {}, opts: RequestOptions = {}): Promise<T> {
        if (this.closedWith)
            return Promise.reject(this.closedWith);
        const id = this.nextId++;
        const msg: Record<string, unknown> = { ...fields, v: PROTOCOL_VERSION, id, op };
        if (opts.profile)
            msg.profile = opts.profile;
        const line = JSON.stringify(msg) + '\n';
        if (Buffer.byteLength(line) > MAX_LINE)
            return Promise.reject(new MimirError('too_large', `the ${op} request is longer than ${MAX_LINE} bytes`));
        const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
        return new Promise<T>((resolve, reject) => {
            const timer = setTimeout(() => {
                // A late reply finds no entry and is dropped; the connection stays usable.
                this.pending.delete(id);
                reject(new MimirError('timeout', `mimir-agent did not answer "${op}" within ${timeoutMs} ms`));
            }, timeoutMs);
            this.pending.set(id, { resolve: resolve as (r: Reply) => void, reject, timer });
            this.sock.write(line);
        });
    }

    /** Events arrive only after a successful `subscribe` request. */
    onEvent(listener: (ev: AgentEvent) => void): Disposable {
        this.eventListeners.add(listener);
        return { dispose: () => this.eventListeners.delete(listener) };
    }

    /** Called once, when the connection ends for whatever reason. */
    onClose(listener: (err: MimirError) => void): Disposable {
        if (this.closedWith) {
            const err = this.closedWith;
            queueMicrotask(() => listener(err));
            return { dispose: () => undefined };
        }
        this.closeListeners.add(listener);
        return { dispose: () => this.closeListeners.delete(listener) };
    }

    close(): void {
        this.fail(new MimirError('io_error', 'connection closed'));
    }

    private onData(chunk: Buffer): void {
        const whole = this.partial.length ? Buffer.concat([this.partial, chunk]) : chunk;
        let start = 0;
        let nl: number;
        while (!this.closedWith && (nl = whole.indexOf(0x0a, start)) >= 0) {
            if (nl + 1 - start > MAX_LINE) {
                this.fail(new MimirError('too_large', `mimir-agent sent a line longer than ${MAX_LINE} bytes`));
                break;
            }
            const line = whole.toString('utf8', start, nl);
            start = nl + 1;
            this.onLine(line);
        }
        // A partial line this long can never end within the limit.
        if (!this.closedWith && whole.length - start >= MAX_LINE)
            this.fail(new MimirError('too_large', `mimir-agent sent a line longer than ${MAX_LINE} bytes`));
        const rest = this.closedWith ? Buffer.alloc(0) : Buffer.from(whole.subarray(start));
        whole.fill(0);
        chunk.fill(0);
        this.wipe();
        this.partial = rest;
    }

    private onLine(line: string): void {
        let msg: { id?: unknown; ok?: unknown; event?: unknown; error?: ErrorInfo };
        try {
            msg = JSON.parse(line);
        } catch {
            this.fail(new MimirError('bad_request', 'mimir-agent sent a line that is not JSON'));
            return;
        }
        if (typeof msg !== 'object' || msg === null) {
            this.fail(new MimirError('bad_request', 'mimir-agent sent a line that is not a JSON object'));
            return;
        }
        if (typeof msg.event === 'string') {
            for (const l of [...this.eventListeners]) {
                try {
                    l(msg as AgentEvent);
                } catch {
                    // a listener's bug must not break the connection
                }
            }
            return;
        }
        const err = msg.ok === true ? undefined : toError(msg.error);
        if (typeof msg.id !== 'number') {
            // Only connection-level errors come without our id (too_large,
            // permission_denied); the agent closes the connection after them.
            if (err)
                this.fail(err);
            return;
        }
        const p = this.pending.get(msg.id);
        if (!p)
            return; // the answer to a request that already timed out
        this.pending.delete(msg.id);
        clearTimeout(p.timer);
        if (err)
            p.reject(err);
        else
            p.resolve(msg as Reply);
    }

    private fail(err: MimirError): void {
        if (this.closedWith)
            return;
        this.closedWith = err;
        this.sock.destroy();
        this.wipe();
        for (const p of this.pending.values()) {
            clearTimeout(p.timer);
            p.reject(err);
        }
        this.pending.clear();
        this.eventListeners.clear();
        const listeners = [...this.closeListeners];
        this.closeListeners.clear();
        for (const l of listeners) {
            try {
                l(err);
            } catch {
                // as above
            }
        }
    }

    /* Replies may carry tokens.  JS strings cannot be wiped, but the raw
     * bytes we buffer can. */
    private wipe(): void {
        this.partial.fill(0);
        this.partial = Buffer.alloc(0);
    }
}

function toError(e: unknown): MimirError {
    const o = (typeof e === 'object' && e !== null ? e : {}) as Partial<ErrorInfo>;
    const code = typeof o.code === 'string' ? o.code : 'internal';
    return new MimirError(code, typeof o.message === 'string' ? o.message : code);
}
