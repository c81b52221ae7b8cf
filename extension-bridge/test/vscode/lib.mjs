// lib.mjs - the real parts of the VS Code suite (suite.mjs): processes that
// are started and stopped, code-server, the workbench in headless Chromium,
// and the test driver extension.  Nothing here stands in for anything.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { appendFileSync, createWriteStream, readFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';

import { chromium } from 'playwright-core';

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** Poll fn (sync or async) until it returns a truthy value; fails after ms. */
export async function waitFor(what, fn, ms = 20_000, every = 100) {
    const end = Date.now() + ms;
    let last;
    for (;;) {
        try {
            const v = await fn();
            if (v)
                return v;
        } catch (e) {
            last = e;
        }
        if (Date.now() > end)
            assert.fail(`timed out after ${ms} ms waiting for ${what}${last ? ` (last error: ${last.message})` : ''}`);
        await sleep(every);
    }
}

const started = [];

/**
 * Start a process with its output in LOGDIR/NAME.log.  ready(line) (optional)
 * is given each stdout line until it returns a value: start() resolves
 * with that value.  Every process is stopped by stopAll(); with group, its
 * whole process group (code-server's extension host outlives code-server,
 * waiting hours for a reconnection).
 */
export function start(logdir, name, cmd, args, { env, ready, cwd, group = false } = {}) {
    const log = createWriteStream(join(logdir, `${name}.log`));
    const proc = spawn(cmd, args, { env, cwd, stdio: ['pipe', 'pipe', 'pipe'], detached: group });
    proc.group = group;
    started.push(proc);
    proc.stderr.pipe(log, { end: false });
    let resolveReady;
    let rejectReady;
    const readyP = new Promise((res, rej) => ((resolveReady = res), (rejectReady = rej)));
    readyP.catch(() => {}); // an exit after start-up is no error of start()'s
    let buf = '';
    proc.stdout.on('data', (d) => {
        log.write(d);
        if (!ready)
            return;
        buf += d;
        let nl;
        while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            const v = ready(line);
            if (v !== undefined)
                resolveReady(v);
        }
    });
    proc.on('exit', (code, sig) => rejectReady(new Error(`${name} exited (${code ?? sig}) before it was ready; see ${name}.log`)));
    proc.on('error', (e) => rejectReady(e));
    return { proc, ready: ready ? readyP : Promise.resolve() };
}

/** SIGTERM everything start() started, SIGKILL what is left after 5 s. */
export async function stopAll() {
    const alive = started.filter((p) => p.exitCode === null && p.signalCode === null);
    const gone = alive.map((p) => new Promise((r) => p.once('exit', r)));
    const signal = (p, sig) => {
        try {
            process.kill(p.group ? -p.pid : p.pid, sig);
        } catch {
            // already gone
        }
    };
    for (const p of alive)
        signal(p, 'SIGTERM');
    const timer = setTimeout(() => alive.forEach((p) => signal(p, 'SIGKILL')), 5000);
    await Promise.all(gone);
    clearTimeout(timer);
    // What is left of a group once its leader has gone (SIGTERM was sent to all of it).
    for (const p of started.filter((q) => q.group))
        signal(p, 'SIGKILL');
}

export async function freePort() {
    const srv = createServer();
    await new Promise((r) => srv.listen(0, '127.0.0.1', r));
    const { port } = srv.address();
    await new Promise((r) => srv.close(r));
    return port;
}

export async function postJson(url, body) {
    const r = await fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body ?? {}) });
    if (!r.ok)
        throw new Error(`${url}: HTTP ${r.status}`);
    return r.json();
}

export async function getJson(url) {
    const r = await fetch(url);
    if (!r.ok)
        throw new Error(`${url}: HTTP ${r.status}`);
    return r.json();
}

// ---- the driver extension ------------------------------------------------------

/** Calls into test/vscode/driver/extension.js; rejects with its error. */
export function driver(portFile) {
    const call = async (op, args = {}) => {
        const port = readFileSync(portFile, 'utf8').trim();
        const r = await postJson(`http://127.0.0.1:${port}/`, { op, ...args });
        if ('error' in r)
            throw new Error(`driver ${op}: ${r.error}`);
        return r.result;
    };
    return call;
}

// ---- the workbench ------------------------------------------------------------------

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'];

export class Workbench {
    static async open(url, logdir) {
        const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS, headless: true });
        const context = await browser.newContext({ viewport: { width: 1400, height: 850 } });
        const page = await context.newPage();
        const wb = new Workbench(browser, context, page, logdir);
        page.on('console', (m) => {
            if (m.type() === 'error')
                wb.note(`console: ${m.text().slice(0, 300)}`);
        });
        await page.goto(url);
        await page.waitForSelector('.monaco-workbench .statusbar', { timeout: 60_000 });
        return wb;
    }

    constructor(browser, context, page, logdir) {
        Object.assign(this, { browser, context, page, logdir });
    }

    note(line) {
        appendFileSync(join(this.logdir, 'workbench.log'), `${new Date().toISOString()} ${line}\n`);
    }

    async screenshot(name) {
        const path = join(this.logdir, `${name}.png`);
        await this.page.screenshot({ path }).catch(() => {});
        return path;
    }

    /** The Mimir status bar item's text (icons are rendered as empty spans). */
    async statusText() {
        const item = this.page.locator('.statusbar-item', { hasText: 'Mimir' });
        return (await item.count()) ? (await item.first().innerText()).trim() : '';
    }

    async waitStatus(re, ms = 20_000) {
        return waitFor(`the status bar to match ${re} (now "${await this.statusText()}")`, async () => re.test(await this.statusText()), ms);
    }

    /** Run a command by its title from the command palette, as a person would. */
    async palette(title) {
        const page = this.page;
        await page.keyboard.press('Escape');
        await page.keyboard.press('F1');
        const input = page.locator('.quick-input-widget input');
        await input.waitFor({ state: 'visible' });
        await input.fill(`>${title}`);
        const first = page.locator('.quick-input-list .monaco-list-row').first();
        await waitFor(`"${title}" first in the command palette`, async () => ((await first.getAttribute('aria-label')) ?? '').startsWith(title), 10_000);
        await page.keyboard.press('Enter');
        this.note(`palette: ${title}`);
    }

    /** Choose the item LABEL in the quick pick that is open. */
    async quickPick(label, ms = 10_000) {
        const row = this.page.locator('.quick-input-widget .quick-input-list .monaco-list-row', { hasText: label }).first();
        await waitFor(`"${label}" in the quick pick`, () => row.isVisible(), ms);
        await row.click();
        this.note(`quick pick: ${label}`);
    }

    /** Accept a multi-select quick pick (its OK button). */
    async acceptQuickPick() {
        await this.page.locator('.quick-input-widget .monaco-button', { hasText: 'OK' }).first().click();
    }

    /** Type TEXT into the open input box and press Enter. */
    async inputBox(text, ms = 10_000) {
        const input = this.page.locator('.quick-input-widget input');
        await waitFor('an input box', () => input.isVisible(), ms);
        await input.fill(text);
        await this.page.keyboard.press('Enter');
        // The widget (and its input element) is reused for the next box:
        // typing on before this one took the text would land in it.
        await waitFor(`the input box to take "${text}"`, async () =>
            !(await input.isVisible()) || (await input.inputValue()) !== text, ms);
        this.note(`input: ${text}`);
    }

    /**
     * Click BUTTON in a notification whose message contains TEXT: its toast,
     * or in the notification center (toasts of an unfocused window may hide).
     */
    async notificationButton(text, button, ms = 20_000) {
        const b = this.page.locator('.notification-list-item', { hasText: text }).locator('.monaco-button', { hasText: button }).first();
        const end = Date.now() + ms;
        while (!(await b.isVisible())) {
            if (Date.now() > end)
                assert.fail(`no notification "${text}" with "${button}"`);
            if (!(await this.page.locator('.notifications-center.visible').count()))
                await this.palette('Notifications: Show Notifications').catch(() => {});
            await sleep(250);
        }
        await b.click();
        this.note(`notification "${text}": ${button}`);
    }

    /** Click BUTTON in the modal dialog; resolves with the dialog's text. */
    async dialogButton(button, ms = 20_000) {
        const box = this.page.locator('.monaco-dialog-box');
        const b = box.locator('.monaco-button', { hasText: button }).first();
        await waitFor(`a dialog with "${button}"`, () => b.isVisible(), ms);
        const text = (await box.innerText()).replace(/\s+/g, ' ');
        await b.click();
        this.note(`dialog "${text.slice(0, 120)}": ${button}`);
        return text;
    }

    async close() {
        await Promise.race([this.browser.close().catch(() => {}), sleep(3000)]);
    }
}

/**
 * Sign in on the test IdP's pages in PAGE (the tab VS Code opened) until the
 * browser reaches the agent's redirect listener (atCallback(URL) is true).
 */
export async function signInAtIdp(page, user, atCallback, ms = 30_000) {
    const end = Date.now() + ms;
    const consent = 'form:has(input[name=prompt][value=consent]) [type=submit]';
    while (Date.now() < end) {
        const u = page.url();
        if (u.startsWith('http') && atCallback(new URL(u))) {
            await page.waitForLoadState('load').catch(() => {});
            return (await page.locator('body').innerText().catch(() => '')).trim();
        }
        if (await page.locator('input[name=login]').isVisible().catch(() => false)) {
            await page.locator('input[name=login]').fill(user);
            await page.locator('input[name=password]').fill('any-password');
            await Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded' }).catch(() => {}),
                page.locator('form:has(input[name=login]) [type=submit]').click()]);
        } else if (await page.locator(consent).isVisible().catch(() => false)) {
            await Promise.all([page.waitForNavigation({ waitUntil: 'domcontentloaded' }).catch(() => {}), page.locator(consent).click()]);
        } else {
            await sleep(100);
        }
    }
    assert.fail(`the IdP sign-in did not reach the redirect listener (at ${page.url()})`);
}
