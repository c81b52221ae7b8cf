// vscode-stub.cjs - just enough of the `vscode` API to run out/extension.js
// in plain Node.  It records what the extension shows and answers prompts
// from a script (`stub.answers`).  It stands in for VS Code only; the agent
// behind it is real.
'use strict';

class EventEmitter {
    constructor() {
        this.listeners = new Set();
        this.event = (l) => {
            this.listeners.add(l);
            return { dispose: () => this.listeners.delete(l) };
        };
    }
    fire(v) {
        for (const l of [...this.listeners]) l(v);
    }
}

const stub = {
    shown: [], // {kind, message, items}
    logs: [],
    statusItems: [],
    settings: { 'mimir.profile': '', 'mimir.helperPath': '' },
    opened: [],
    clipboard: '',
    // Scripted answers: kind -> function(message, items) => answer
    answers: {},
    commands: new Map(),
    configChanged: new EventEmitter(),
};

function show(kind) {
    return (message, ...rest) => {
        const items = rest.filter((x) => typeof x === 'string');
        stub.shown.push({ kind, message, items });
        const a = stub.answers[kind];
        return Promise.resolve(a ? a(message, items) : undefined);
    };
}

const log = (level) => (msg) => stub.logs.push(`${level}: ${msg}`);

module.exports = {
    _stub: stub,
    StatusBarAlignment: { Left: 1, Right: 2 },
    ProgressLocation: { SourceControl: 1, Window: 10, Notification: 15 },
    ThemeColor: class ThemeColor {
        constructor(id) {
            this.id = id;
        }
    },
    window: {
        createOutputChannel: () => ({
            trace: log('trace'), debug: log('debug'), info: log('info'), warn: log('warn'), error: log('error'),
            appendLine: log('line'), dispose() {},
        }),
        createStatusBarItem: (id, alignment, priority) => {
            const item = { id, alignment, priority, text: '', visible: false, disposed: false,
                show() { this.visible = true; }, hide() { this.visible = false; }, dispose() { this.disposed = true; } };
            stub.statusItems.push(item);
            return item;
        },
        showInformationMessage: show('info'),
        showWarningMessage: show('warning'),
        showErrorMessage: show('error'),
        showInputBox: (opts) => {
            stub.shown.push({ kind: 'input', message: opts.title, items: [] });
            return Promise.resolve(stub.answers.input?.(opts));
        },
        showQuickPick: (items, opts) => {
            stub.shown.push({ kind: 'quickpick', message: opts?.title, items });
            return Promise.resolve(stub.answers.quickpick?.(items));
        },
        withProgress: (opts, task) => {
            stub.shown.push({ kind: 'progress', message: opts.title, items: [] });
            const cancel = new EventEmitter();
            return task({ report() {} }, { isCancellationRequested: false, onCancellationRequested: cancel.event });
        },
    },
    commands: {
        registerCommand: (id, fn) => {
            stub.commands.set(id, fn);
            return { dispose: () => stub.commands.delete(id) };
        },
        executeCommand: (id, ...args) => Promise.resolve(stub.commands.get(id)?.(...args)),
    },
    workspace: {
        getConfiguration: (section) => ({ get: (key) => stub.settings[`${section}.${key}`] }),
        onDidChangeConfiguration: stub.configChanged.event,
    },
    env: {
        openExternal: (target) => {
            stub.opened.push(target);
            return Promise.resolve(true);
        },
        clipboard: { writeText: (t) => Promise.resolve(void (stub.clipboard = t)) },
    },
};
