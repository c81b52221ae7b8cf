// securityoff.mjs - a Mimir server with security off, as the agent's probe
// sees one: /auth/config offers no way to sign in, there is no RFC 9728
// metadata, and the MCP endpoint answers without a credential.  For the
// "add a server" calls, which only need the probe to succeed.
import { createServer } from 'node:http';

/** Resolves to { base, close } once it listens on 127.0.0.1. */
export function securityOffServer() {
    const srv = createServer((req, res) => {
        res.setHeader('Content-Type', 'application/json');
        if (req.url === '/auth/config')
            return res.end(JSON.stringify({ devLoginEnabled: false, oauthProviders: [] }));
        if (req.url.startsWith('/.well-known/'))
            return res.writeHead(404).end('{}');
        res.end('{"jsonrpc":"2.0","id":null,"result":{}}');
    });
    return new Promise((resolve) => srv.listen(0, '127.0.0.1', () =>
        resolve({ base: `http://127.0.0.1:${srv.address().port}`, close: () => srv.close() })));
}
