// Opens an authorization URL in headless Chromium (Debian's /usr/bin/chromium),
// signs in on the oxmsal emulator's page, and waits for the app's loopback
// listener to answer. Usage: node sign_in.mjs URL USERNAME PASSWORD
// Prints one JSON line: {"ok": true, "final_url": ..., "text": ...}.
import { chromium } from 'playwright-core';

const [url, username, password] = process.argv.slice(2);
if (!url || !username || !password) {
  console.error('usage: sign_in.mjs URL USERNAME PASSWORD');
  process.exit(2);
}

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM_PATH || '/usr/bin/chromium',
  headless: true,
  args: [
    '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync',
  ],
});
try {
  // The emulator's CA is the test's own; the page is on loopback.
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  await page.goto(url, { waitUntil: 'load', timeout: 20000 });
  await page.fill('#username', username);
  await page.fill('#password', password);
  await Promise.all([
    page.waitForURL(/^http:\/\/(localhost|127\.0\.0\.1):\d+/, { timeout: 20000 }),
    page.click('#sign-in'),
  ]);
  await page.waitForLoadState('load');
  const text = await page.innerText('body');
  console.log(JSON.stringify({ ok: true, final_url: page.url().split('?')[0], text }));
} catch (e) {
  console.log(JSON.stringify({ ok: false, error: String(e) }));
  process.exitCode = 1;
} finally {
  await browser.close();
}
