/*
 * setup.ts - creating profiles, importing credentials and writing other MCP
 * clients' configs: every call the extension makes that the rest of the
 * project has only just gained (or is gaining), kept in this one place so
 * that the names match the contracts below and nowhere else.
 *
 *   socket op  import_token {"token"}            -> {"profile","expires_at"?}
 *   socket op  login {"username","password","remember_password"}  (kind mimir)
 *   helper     login --server URL [--profile P] [--mode M] --no-login --json
 *                                                 -> {"profile","mode"}
 *   helper     mcp-config CLIENT --profile P --write   (prints what it wrote)
 *   helper     proxy --profile P                  (a stdio MCP server)
 *
 * No `vscode` import: the node tests drive these against the real helper.
 */
import { execFile } from 'node:child_process';

import { MimirError } from './errors';
import { AgentClient, Reply } from './protocol';

/** Server authentication modes `login --server` understands; undefined: let it detect. */
export type ServerMode = 'oauth' | 'dev' | 'api-key' | 'none';

export interface HelperResult {
    code: number;
    stdout: string;
    stderr: string;
}

/** Run the helper without a shell; a non-zero exit is a result, not an error. */
export function runHelper(helper: string, args: string[], opts: { cwd?: string; timeoutMs?: number; env?: NodeJS.ProcessEnv } = {}): Promise<HelperResult> {
    return new Promise((resolve, reject) => {
        execFile(helper, args, { cwd: opts.cwd, env: opts.env ?? process.env, timeout: opts.timeoutMs ?? 30_000, windowsHide: true }, (err, stdout, stderr) => {
            if (err && typeof err.code === 'string') // ENOENT, EACCES: it did not run
                return reject(new MimirError('agent_unreachable', `cannot run ${helper}: ${err.message}`, err.code));
            if (err?.killed)
                return reject(new MimirError('timeout', `${helper} ${args[0]} did not finish in time`));
            resolve({ code: typeof err?.code === 'number' ? err.code : 0, stdout, stderr });
        });
    });
}

/** The helper's own message (its first line: "mimir-helper: ...") or a fallback. */
export function helperMessage(r: HelperResult): string {
    const line = r.stderr.split('\n').map((l) => l.trim()).find(Boolean) ?? '';
    return line.replace(/^mimir-helper: /, '') || `exit status ${r.code}`;
}

/** Exit status 2 is a usage error: this helper does not know the command or option yet. */
function unsupported(r: HelperResult, what: string): MimirError | undefined {
    // Exit 2 is any usage error; only an unknown command or option means an
    // older helper (a refused --mode is the user's to fix, and says why).
    const old = r.code === 2 && /unrecognized option|unknown command|invalid option|unknown client/.test(r.stderr);
    return old ? new MimirError('unknown_op', `this mimir-helper cannot ${what}: ${helperMessage(r)}`) : undefined;
}

/** What an OAuth profile needs that the server may not say: the helper asks
 * for it on a terminal, and names the option it takes otherwise. */
export interface OAuthClient {
    issuer?: string;
    clientId?: string;
}

/** Which of --issuer / --client-id the helper's refusal asks for (undefined: neither). */
export function missingOAuthOption(e: unknown): 'issuer' | 'clientId' | undefined {
    const m = e instanceof Error ? e.message : '';
    return /pass --issuer\b/.test(m) ? 'issuer' : /pass --client-id\b/.test(m) ? 'clientId' : undefined;
}

/** Create (or update) a profile from the Mimir server's /auth/config, without logging in. */
export async function addServer(helper: string, url: string, profile?: string, mode?: ServerMode, oauth: OAuthClient = {}): Promise<{ profile: string; mode: string }> {
    const args = ['login', '--server', url, '--no-login', '--json'];
    if (profile)
        args.push('--profile', profile);
    if (mode)
        args.push('--mode', mode);
    if (oauth.issuer)
        args.push('--issuer', oauth.issuer);
    if (oauth.clientId)
        args.push('--client-id', oauth.clientId);
    const r = await runHelper(helper, args);
    if (r.code !== 0)
        throw unsupported(r, 'add a server (login --server)') ?? new MimirError(r.code === 2 ? 'bad_request' : 'config_error', helperMessage(r));
    try {
        const o = JSON.parse(r.stdout) as { profile?: unknown; mode?: unknown };
        if (typeof o.profile === 'string')
            return { profile: o.profile, mode: typeof o.mode === 'string' ? o.mode : 'unknown' };
    } catch {
        // reported below
    }
    throw new MimirError('internal', `mimir-helper login --server printed no profile: ${r.stdout.slice(0, 200)}`);
}

/** Write Mimir's entry into CLIENT's config file; resolves with what the helper says it did. */
export async function writeClientConfig(helper: string, client: string, profile: string | undefined, cwd?: string): Promise<string> {
    const args = ['mcp-config', client, '--write'];
    if (profile)
        args.push('--profile', profile);
    const r = await runHelper(helper, args, { cwd });
    if (r.code !== 0)
        throw unsupported(r, `write ${client}'s config (mcp-config --write)`) ?? new MimirError('io_error', helperMessage(r));
    return r.stdout.trim();
}

/** The stdio MCP server that forwards to the profile's server with a fresh credential per request. */
export function proxyArgs(profile: string): string[] {
    return ['proxy', '--profile', profile];
}

/** Store a Mimir token obtained elsewhere (Mimir's own extension kept it in settings). */
export function importToken(c: AgentClient, profile: string, token: string): Promise<Reply> {
    return c.request('import_token', { token }, { profile, timeoutMs: 30_000 });
}

/** The fields of a dev-mode (username/password) login request. */
export function passwordLogin(username: string, password: string, remember: boolean): Record<string, unknown> {
    return { username, password, remember_password: remember };
}
