#!/usr/bin/env node
// A $BROWSER stand-in that really logs in: opens an authorization URL in Debian's
// chromium, signs in on the IdP's login form, consents, and waits until the browser
// has loaded the redirect_uri page (the agent's loopback listener).
//
//   login.mjs URL
//   MIMIR_TEST_USER=alice          login name (becomes the ID token's sub)
//   MIMIR_TEST_DENY=1              press "[ Cancel ]" instead: expect error=access_denied
//   MIMIR_TEST_BROWSER_TIMEOUT=30  overall deadline in seconds
//   MIMIR_TEST_BROWSER_LOG=FILE    append one JSON line per run
// Exit 0 once the callback page has loaded, 1 on failure, 2 on bad usage.

import {
  startRun, openBrowser, navigate, goto, visible, idpError, fillLogin, consentSelector, sleep,
} from './lib.mjs';

const [startUrl] = process.argv.slice(2);
let auth;
try {
  auth = new URL(startUrl);
} catch {
  console.error('usage: login.mjs AUTHORIZATION_URL');
  process.exit(2);
}

// The callback is where redirect_uri points; without one (e.g. a PAR request_uri)
// any page off the IdP's origin counts.
const redirect = auth.searchParams.get('redirect_uri');
const callback = redirect ? new URL(redirect) : null;
const onCallback = (href) => {
  if (!/^https?:/.test(href)) return false;
  const u = new URL(href);
  return callback ? u.host === callback.host && u.pathname === callback.pathname : u.origin !== auth.origin;
};

const deny = process.env.MIMIR_TEST_DENY === '1';
const run = startRun('login.mjs', startUrl);
const page = await openBrowser(run, new Set([auth.host, callback?.host].filter(Boolean)))
  .catch((err) => run.fail(`cannot start chromium: ${err.message.split('\n')[0]}`));

await run.main(async () => {
  await goto(run, startUrl);

  let denied = false;
  for (;;) {
    if (onCallback(page.url())) {
      await page.waitForLoadState('load', { timeout: run.remaining() }).catch(() => {});
      const text = await page.locator('body').innerText().catch(() => '');
      await run.succeed(denied ? 'denied' : 'ok', page.url(), text);
    }
    if (page.url().startsWith('chrome-error://')) {
      await run.fail(`page failed to load: ${run.mainFailure ?? 'unknown error'}`);
    }
    const error = await idpError(page);
    if (error) await run.fail(`IdP error page: ${error}`);

    if (await visible(page, 'input[name=login]')) {
      if (deny) {
        denied = true;
        console.error('login.mjs: login form: pressing [ Cancel ]');
        await navigate(run, () => page.locator('a:has-text("Cancel")').click());
      } else {
        console.error(`login.mjs: login form: signing in as ${process.env.MIMIR_TEST_USER || 'alice'}`);
        const submit = await fillLogin(page);
        await navigate(run, submit);
      }
    } else if (await visible(page, consentSelector)) {
      if (deny) {
        denied = true;
        console.error('login.mjs: consent page: pressing [ Cancel ]');
        await navigate(run, () => page.locator('a:has-text("Cancel")').click());
      } else {
        console.error('login.mjs: consent page: continuing');
        await navigate(run, () => page.locator(consentSelector).click());
      }
    } else {
      // Something in between (an auto-submitting form, a redirect in flight): let it move.
      await sleep(100);
      await page.waitForLoadState('domcontentloaded', { timeout: run.remaining() }).catch(() => {});
    }
  }
});
