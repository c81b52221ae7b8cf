// standin.mjs - a Mimir server as the agent's probe sees one, for the "add a
// server" calls, which only need the probe to succeed:
//  - security off: /auth/config offers no way to sign in, and the MCP
//    endpoint answers without a credential;
//  - OAuth (oauthIssuer given): /auth/config lists that one provider, and
//    the endpoint answers 401, as Mimir does without a token.
// Neither has RFC 9728 metadata.
import { createServer } from 'node:http';

/** Resolves to { base, close } once it listens on 127.0.0.1. */
export function standInServer({ oauthIssuer } = {}) {
    const srv = createServer((req, res) => {
        res.setHeader('Content-Type', 'application/json');
        if (req.url === '/auth/config') {
            const providers = oauthIssuer ? [{ name: 'idp', url: oauthIssuer, displayName: 'Test IdP' }] : [];
            return res.end(JSON.stringify({ devLoginEnabled: false, oauthProviders: providers }));
        }
        if (req.url.startsWith('/.well-known/'))
            return res.writeHead(404).end('{}');
        if (oauthIssuer)
            return res.writeHead(401).end('{"error":"unauthorized"}');
        res.end('{"jsonrpc":"2.0","id":null,"result":{}}');
    });
    return new Promise((resolve) => srv.listen(0, '127.0.0.1', () =>
        resolve({ base: `http://127.0.0.1:${srv.address().port}`, close: () => srv.close() })));
}
