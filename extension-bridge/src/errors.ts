/*
 * errors.ts - MimirError: an error with a code from the agent's closed list
 * (docs/protocol.md).  Failures on our side of the socket use the same list:
 * agent_unreachable, timeout, too_large, io_error, config_error, bad_request.
 */
export class MimirError extends Error {
    constructor(
        readonly code: string,
        message: string,
        /** errno name when a system call failed (ENOENT, ECONNREFUSED, ...) */
        readonly errno?: string,
    ) {
        super(message);
        this.name = 'MimirError';
    }
}

export function asMimirError(e: unknown): MimirError {
    if (e instanceof MimirError)
        return e;
    return new MimirError('internal', e instanceof Error ? e.message : String(e));
}
