// Shared by login.mjs and device.mjs: Debian's chromium under playwright-core, an
// overall deadline, and the optional run log. Pages are recognised by what they
// show, not by the order they come in, so an IdP that skips a step still works.

import { appendFileSync } from 'node:fs';
import { chromium } from 'playwright-core';

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic',
  '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

const LOOPBACK = new Set(['127.0.0.1', 'localhost', '[::1]']);

// Never let a code or token reach a log.
export function redact(url) {
  try {
    const u = new URL(url);
    for (const k of ['code', 'access_token', 'id_token', 'refresh_token', 'user_code']) {
      if (u.searchParams.has(k)) u.searchParams.set(k, '<redacted>');
    }
    return u.href;
  } catch {
    return String(url);
  }
}

export function startRun(script, startUrl) {
  const seconds = Number(process.env.MIMIR_TEST_BROWSER_TIMEOUT || 30);
  const deadline = Date.now() + (seconds > 0 ? seconds : 30) * 1000;
  const run = { browser: null, page: null, finished: false };

  const log = (outcome, detail) => {
    const file = process.env.MIMIR_TEST_BROWSER_LOG;
    if (!file) return;
    const line = { time: new Date().toISOString(), script, url: redact(startUrl), outcome, ...detail };
    try {
      appendFileSync(file, `${JSON.stringify(line)}\n`);
    } catch (err) {
      console.error(`${script}: cannot write ${file}: ${err.message}`);
    }
  };

  const closeBrowser = async () => {
    // A wedged browser must not keep us past the deadline.
    if (run.browser) await Promise.race([run.browser.close().catch(() => {}), sleep(3000)]);
  };

  run.remaining = () => Math.max(1, deadline - Date.now());

  run.fail = async (msg) => {
    if (run.finished) return;
    run.finished = true;
    const where = run.page ? ` (at ${redact(run.page.url())})` : '';
    console.error(`${script}: FAILED: ${msg}${where}`);
    log('fail', { error: msg });
    await closeBrowser();
    process.exit(1);
  };

  run.succeed = async (outcome, finalUrl, text) => {
    if (run.finished) return;
    run.finished = true;
    console.error(`${script}: ${outcome}: final URL ${redact(finalUrl)}`);
    console.error(`${script}: page text: ${text.trim().replace(/\s+/g, ' ').slice(0, 2000)}`);
    log(outcome, { final_url: redact(finalUrl) });
    await closeBrowser();
    process.exit(0);
  };

  // Runs the page-driving loop; once the deadline has closed the browser under it,
  // its errors are expected and the exit is already on its way.
  run.main = async (drive) => {
    try {
      await drive();
    } catch (err) {
      if (!run.finished) await run.fail(err.message.split('\n')[0]);
      await sleep(10000);
    }
  };

  setTimeout(() => run.fail(`deadline of ${seconds}s passed`), run.remaining());
  return run;
}

export const sleep = (ms) => new Promise((r) => { setTimeout(r, ms); });

// allowedHosts: host:port pairs the test needs; anything else (e.g. the web font the
// oidc-provider pages import) is refused at once instead of waiting on a dead network.
export async function openBrowser(run, allowedHosts) {
  run.browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
    args: CHROMIUM_ARGS,
    headless: true,
    timeout: run.remaining(),
  });
  // Self-signed test IdPs (--cert/--key) are expected here.
  const context = await run.browser.newContext({ ignoreHTTPSErrors: true });
  await context.route('**/*', (route) => {
    const u = new URL(route.request().url());
    if (allowedHosts.has(u.host) || LOOPBACK.has(u.hostname)) return route.continue();
    return route.abort('blockedbyclient');
  });
  run.page = await context.newPage();
  run.page.setDefaultTimeout(run.remaining());
  run.mainFailure = null;
  run.page.on('requestfailed', (req) => {
    if (req.isNavigationRequest() && req.frame() === run.page.mainFrame()) {
      run.mainFailure = `${redact(req.url())}: ${req.failure()?.errorText}`;
    }
  });
  return run.page;
}

// Do something that navigates, and wait for the next document to be parsed.
export async function navigate(run, action) {
  const page = run.page;
  const nav = page.waitForNavigation({ waitUntil: 'domcontentloaded', timeout: run.remaining() })
    .catch((err) => err);
  await action();
  const res = await nav;
  if (page.url().startsWith('chrome-error://')) {
    await run.fail(`navigation failed: ${run.mainFailure ?? 'unknown error'}`);
  }
  if (res instanceof Error) await run.fail(`navigation did not complete: ${res.message.split('\n')[0]}`);
}

export async function goto(run, url) {
  try {
    await run.page.goto(url, { waitUntil: 'domcontentloaded', timeout: run.remaining() });
  } catch (err) {
    await run.fail(`cannot open ${redact(url)}: ${err.message.split('\n')[0]}`);
  }
}

export const visible = async (page, selector) => (await page.locator(selector).count()) > 0
  && page.locator(selector).first().isVisible();

// oidc-provider's own error page ("oops! something went wrong").
export async function idpError(page) {
  if (!(await visible(page, 'text=oops! something went wrong'))) return null;
  return (await page.locator('body').innerText()).replace(/\s+/g, ' ').trim().slice(0, 500);
}

export async function fillLogin(page) {
  const user = process.env.MIMIR_TEST_USER || 'alice';
  await page.locator('input[name=login]').fill(user);
  await page.locator('input[name=password]').fill('any-password');
  return () => page.locator('form:has(input[name=login]) [type=submit]').click();
}

export const consentSelector = 'form:has(input[name=prompt][value=consent]) [type=submit]';
