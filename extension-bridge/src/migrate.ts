/*
 * migrate.ts - Mimir's own VS Code extension kept its credential in plain
 * settings: the token in mimir.auth.apiKey, the dev login's user name and
 * password in mimir.auth.username / mimir.auth.password.  When any of them
 * is set (in user, workspace or folder settings), we offer once to move it
 * into mimir-agent (the system keyring) and delete it from settings.json.
 *
 *   token    -> set_api_key (api-key profile) or import_token (mimir profile)
 *   password -> the dev login with remember_password (mimir profile)
 *
 * The settings are declared in package.json (deprecated), because VS Code
 * refuses to write, and so to delete, a setting nobody declares.
 */
import * as vscode from 'vscode';

import { readProfiles } from './agent';
import { asMimirError } from './errors';
import { LoginDeps } from './login';
import { ProfileStatus } from './protocol';
import { importToken, passwordLogin } from './setup';

const KEYS = ['apiKey', 'username', 'password'] as const;
type Key = (typeof KEYS)[number];
const ANSWERED = 'mimir.migration.answered';

const TARGETS: [vscode.ConfigurationTarget, keyof Inspected][] = [
    [vscode.ConfigurationTarget.Global, 'globalValue'],
    [vscode.ConfigurationTarget.Workspace, 'workspaceValue'],
    [vscode.ConfigurationTarget.WorkspaceFolder, 'workspaceFolderValue'],
];
interface Inspected {
    globalValue?: unknown;
    workspaceValue?: unknown;
    workspaceFolderValue?: unknown;
}

/** The plain-text credential settings that are set, and their (most specific) values. */
function planted(): Partial<Record<Key, string>> {
    const cfg = vscode.workspace.getConfiguration('mimir.auth');
    const found: Partial<Record<Key, string>> = {};
    for (const k of KEYS) {
        const i = cfg.inspect<unknown>(k);
        for (const [, field] of TARGETS) {
            const v = i?.[field];
            if (typeof v === 'string' && v)
                found[k] = v;
        }
    }
    return found;
}

export class Migration implements vscode.Disposable {
    private offering = false;
    private readonly subscription: vscode.Disposable;

    constructor(private readonly deps: LoginDeps, private readonly memento: vscode.Memento) {
        this.subscription = vscode.workspace.onDidChangeConfiguration((e) => {
            if (e.affectsConfiguration('mimir.auth'))
                void this.offer(false);
        });
    }

    /** Offer the move, once (asked: true for the command, which always offers). */
    async offer(asked: boolean): Promise<void> {
        const found = planted();
        if ((!found.apiKey && !found.password) || this.offering)
            return;
        if (!asked && this.memento.get<boolean>(ANSWERED))
            return;
        this.offering = true;
        try {
            const what = found.apiKey ? 'a Mimir token (mimir.auth.apiKey)' : 'your Mimir password (mimir.auth.password)';
            const choice = await vscode.window.showWarningMessage(
                `Mimir: your settings hold ${what} in plain text. Move it into mimir-agent (the system keyring) and remove it from settings.json?`,
                'Move to Agent',
                'Not Now',
            );
            if (!choice)
                return; // dismissed: offer again next time
            await this.memento.update(ANSWERED, true);
            if (choice === 'Move to Agent')
                await this.move(found);
        } catch (e) {
            const err = asMimirError(e);
            this.deps.log.warn(`migration: ${err.code}: ${err.message}`);
            void vscode.window.showErrorMessage(`Mimir: could not move the credential (${err.message}); settings.json is unchanged.`);
        } finally {
            this.offering = false;
        }
    }

    private async move(found: Partial<Record<Key, string>>): Promise<void> {
        const c = await this.deps.state.connect();
        let p: ProfileStatus | undefined;
        try {
            p = await this.target(await readProfiles(c), !!found.apiKey);
            if (!p)
                return;
            if (found.apiKey && p.kind === 'api-key')
                await c.request('set_api_key', { api_key: found.apiKey }, { profile: p.name, timeoutMs: 30_000 });
            else if (found.apiKey)
                await importToken(c, p.name, found.apiKey);
            else
                await c.request('login', passwordLogin(found.username ?? '', found.password ?? '', true), { profile: p.name, timeoutMs: 30_000 });
        } finally {
            c.close();
            this.deps.state.refresh();
        }
        await this.erase();
        this.deps.log.info(`migration: moved the settings' credential into profile ${p.name}; removed mimir.auth.* from settings`);
        void vscode.window.showInformationMessage(`Mimir: the credential is in mimir-agent now (profile "${p.name}") and no longer in settings.json.`);
    }

    /* Only an api-key or mimir profile can take a Mimir token; a password
     * only a mimir one.  One candidate is taken as is; several are asked. */
    private async target(profiles: ProfileStatus[], token: boolean): Promise<ProfileStatus | undefined> {
        const fits = profiles.filter((p) => p.kind === 'mimir' || (token && p.kind === 'api-key'));
        if (fits.length === 1)
            return fits[0];
        if (!fits.length) {
            const choice = await vscode.window.showWarningMessage(
                'Mimir: no profile of the agent can take this credential yet. Add your Mimir server first, then run "Mimir: Move Credentials from Settings".',
                'Add Server',
            );
            if (choice)
                await vscode.commands.executeCommand('mimir.addServer');
            return undefined;
        }
        const pick = await vscode.window.showQuickPick(
            fits.map((p) => ({ label: p.name, description: `${p.kind}, ${p.server_url ?? ''}`, p })),
            { title: 'Mimir: which profile gets the credential from settings?' },
        );
        return pick?.p;
    }

    private async erase(): Promise<void> {
        const cfg = vscode.workspace.getConfiguration('mimir.auth');
        for (const k of KEYS) {
            const i = cfg.inspect<unknown>(k);
            for (const [target, field] of TARGETS)
                if (i?.[field] !== undefined)
                    await cfg.update(k, undefined, target);
        }
    }

    dispose(): void {
        this.subscription.dispose();
    }
}
