#!/usr/bin/env node
// Completes an RFC 8628 device login in Debian's chromium: opens the verification
// URI, types the user code if asked, confirms, signs in, consents, and exits 0 once
// the IdP shows its success page.
//
//   device.mjs VERIFICATION_URI_COMPLETE_OR_URI [USER_CODE]
//   MIMIR_TEST_USER, MIMIR_TEST_BROWSER_TIMEOUT, MIMIR_TEST_BROWSER_LOG: as login.mjs
//   MIMIR_TEST_DENY=1  press "[ Abort ]" on the confirmation page instead (the
//                      device then gets access_denied); exits 0 once aborted.

import {
  startRun, openBrowser, navigate, goto, visible, idpError, fillLogin, consentSelector, sleep,
} from './lib.mjs';

const [startUrl, userCode] = process.argv.slice(2);
let start;
try {
  start = new URL(startUrl);
} catch {
  console.error('usage: device.mjs VERIFICATION_URI_COMPLETE_OR_URI [USER_CODE]');
  process.exit(2);
}

const deny = process.env.MIMIR_TEST_DENY === '1';
const run = startRun('device.mjs', startUrl);
const page = await openBrowser(run, new Set([start.host]))
  .catch((err) => run.fail(`cannot start chromium: ${err.message.split('\n')[0]}`));
const bodyText = async () => (await page.locator('body').innerText().catch(() => '')).replace(/\s+/g, ' ');

await run.main(async () => {
  await goto(run, startUrl);

  let codeTyped = false;
  for (;;) {
    if (page.url().startsWith('chrome-error://')) {
      await run.fail(`page failed to load: ${run.mainFailure ?? 'unknown error'}`);
    }
    const error = await idpError(page);
    if (error) await run.fail(`IdP error page: ${error}`);
    const text = await bodyText();

    if (await visible(page, 'h1:has-text("Sign-in Success")')) {
      await run.succeed('ok', page.url(), text);
    } else if (/sign-in request was interrupted/i.test(text)) {
      if (deny) await run.succeed('denied', page.url(), text);
      await run.fail('the device login was aborted');
    } else if (/code you entered is incorrect|error processing your request/i.test(text)) {
      await run.fail(`user code rejected: ${text.slice(0, 300)}`);
    } else if (await visible(page, 'input[name=user_code]')) {
      // Shown when only the plain verification URI was given.
      const prefilled = await page.locator('input[name=user_code]').inputValue();
      if (!prefilled) {
        if (!userCode) await run.fail('the IdP asks for a user code and none was given');
        if (codeTyped) await run.fail('the IdP asks for the user code again');
        await page.locator('input[name=user_code]').fill(userCode);
        codeTyped = true;
      }
      console.error('device.mjs: code form: submitting the user code');
      await navigate(run, () => page.locator('[type=submit][form="op.deviceInputForm"]').click());
    } else if (await visible(page, 'button[form="op.deviceConfirmForm"]')) {
      const which = deny ? 'button[name=abort]' : 'button[form="op.deviceConfirmForm"]:not([name=abort])';
      console.error(`device.mjs: confirmation page: ${deny ? 'aborting' : 'continuing'}`);
      await navigate(run, () => page.locator(which).click());
    } else if (await visible(page, 'input[name=login]')) {
      console.error(`device.mjs: login form: signing in as ${process.env.MIMIR_TEST_USER || 'alice'}`);
      const submit = await fillLogin(page);
      await navigate(run, submit);
    } else if (await visible(page, consentSelector)) {
      console.error('device.mjs: consent page: continuing');
      await navigate(run, () => page.locator(consentSelector).click());
    } else {
      // e.g. the auto-submitting form that verification_uri_complete answers with.
      await sleep(100);
      await page.waitForLoadState('domcontentloaded', { timeout: run.remaining() }).catch(() => {});
    }
  }
});
