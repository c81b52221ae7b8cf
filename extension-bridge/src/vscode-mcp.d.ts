/*
 * vscode-mcp.d.ts - the MCP server definition API of VS Code 1.101, as
 * declared in @types/vscode 1.101.0.  The extension still runs on 1.90
 * (engines), where this API is missing: mcp.ts checks that
 * lm.registerMcpServerDefinitionProvider exists before it touches any of it.
 * Depending on @types/vscode 1.101 instead would make vsce demand
 * engines ^1.101 and drop every older VS Code.
 */
import 'vscode';

declare module 'vscode' {
    export class McpStdioServerDefinition {
        readonly label: string;
        cwd?: Uri;
        command: string;
        args: string[];
        env: Record<string, string | number | null>;
        version?: string;
        constructor(label: string, command: string, args?: string[], env?: Record<string, string | number | null>, version?: string);
    }

    export class McpHttpServerDefinition {
        readonly label: string;
        uri: Uri;
        headers: Record<string, string>;
        version?: string;
        constructor(label: string, uri: Uri, headers?: Record<string, string>, version?: string);
    }

    export type McpServerDefinition = McpStdioServerDefinition | McpHttpServerDefinition;

    export interface McpServerDefinitionProvider<T extends McpServerDefinition = McpServerDefinition> {
        readonly onDidChangeMcpServerDefinitions?: Event<void>;
        provideMcpServerDefinitions(token: CancellationToken): ProviderResult<T[]>;
        resolveMcpServerDefinition?(server: T, token: CancellationToken): ProviderResult<T>;
    }

    export namespace lm {
        export function registerMcpServerDefinitionProvider(id: string, provider: McpServerDefinitionProvider): Disposable;
    }
}
