/*
 * trust.ts - refuse an agent socket that someone else may control, before
 * a single byte is sent to it (include/mimir/trust.h is the C side).
 *
 * A process of another user that created the socket's directory first (the
 * /tmp/mimir-<uid> fallback can be created by anyone, and so can whatever
 * directory MIMIR_AGENT_SOCK names) would otherwise receive API keys and
 * passwords from us and could hand out tokens of its choosing.  The helper
 * checks two things: the directory, and the listening peer's uid
 * (SO_PEERCRED).  Node cannot read SO_PEERCRED, so this side relies on the
 * directory alone: a real directory (lstat: a symlink is refused), owned by
 * our uid, without group/other permissions.  Nobody else can then have put
 * a socket in it.  What it cannot see, unlike the helper, is a directory
 * swapped between this check and connect(); only its owner or root can do
 * that.
 */
import { promises as fs } from 'node:fs';
import * as path from 'node:path';

import { MimirError } from './errors';

/**
 * Resolves when the directory holding socketPath is ours and private.
 * Rejects with agent_unreachable: errno ENOENT when the directory does not
 * exist yet (no agent ever ran there, so starting one is safe), no errno
 * when it exists but cannot be trusted (starting an agent would not help).
 */
export async function checkSocketDir(socketPath: string, uid: number = process.geteuid?.() ?? 0): Promise<void> {
    const dir = path.dirname(socketPath);
    let st;
    try {
        st = await fs.lstat(dir);
    } catch (e) {
        const err = e as NodeJS.ErrnoException;
        throw new MimirError('agent_unreachable', `cannot reach mimir-agent at ${socketPath}: ${dir}: ${err.message}`, err.code);
    }
    let wrong: string | undefined;
    if (!st.isDirectory())
        wrong = `${dir} is not a directory (symlinks are refused)`;
    else if (st.uid !== uid)
        wrong = `${dir} is owned by uid ${st.uid}, not by us (uid ${uid})`;
    else if (st.mode & 0o077)
        wrong = `${dir} has mode ${(st.mode & 0o777).toString(8).padStart(3, '0')}; it must be 0700 (chmod 700 ${dir})`;
    if (wrong)
        throw new MimirError(
            'agent_unreachable',
            `refusing to use the agent socket ${socketPath}: ${wrong}. Someone else may control that directory: ` +
                'remove it if it is not yours, or point MIMIR_AGENT_SOCK into a private directory. Nothing was sent to it.',
        );
}
