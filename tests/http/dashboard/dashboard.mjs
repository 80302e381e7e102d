// Drives the operators' dashboard of a running `unity serve` in Debian's Chromium (playwright-core,
// no browser download), as an operator would:
//   node dashboard.mjs BASE_URL OPERATOR_TOKEN TENANT_A TENANT_B BACKLOG [SCREENSHOT_DIR]
// The caller (tests/http/dashboard_test.cc) has queued BACKLOG slow jobs and one failing job for
// tenant A and passes the database's environment; this script starts and stops the worker
// (`$UNITY_BIN queue:work`) itself, so it sees the backlog before any job runs. Steps:
//   1. a wrong token is refused and the page stays on the sign-in form;
//   2. the operator token signs in (kept in sessionStorage, never in the URL);
//   3. the queue's backlog falls on the page, live, while the worker drains; the worker is listed;
//   4. the failed job appears with its exception and payload, and Retry puts it back in the queue;
//   5. pausing tenant A holds its jobs while tenant B's run; resuming runs them;
//   6. Forget deletes the failed job; laptop and phone screenshots.
// Exits 0 when every step held, 1 with the failing step on stderr otherwise.
import { spawn, spawnSync } from 'node:child_process';
import { chromium } from 'playwright-core';

const [base, token, tenantA, tenantB, backlogText, shots] = process.argv.slice(2);
const backlog = Number(backlogText);
const unity = process.env.UNITY_BIN;
const TIMEOUT = 60_000;

function fail(step, detail) {
  console.error(`FAILED at ${step}: ${detail}`);
  process.exit(1);
}

function cli(...args) {
  const r = spawnSync(unity, args, { env: process.env, encoding: 'utf8' });
  if (r.status !== 0) fail('cli ' + args.join(' '), r.stderr);
  return r.stdout;
}

function startWorker(name) {
  const w = spawn(unity, ['queue:work', '--sleep=0.1', '--tries=1', '--name=' + name],
                  { env: process.env, stdio: 'inherit' });
  return { stop: () => new Promise((done) => { w.on('exit', done); w.kill('SIGTERM'); }) };
}

async function until(step, condition) {
  const end = Date.now() + TIMEOUT;
  for (;;) {
    const value = await condition();
    if (value) return value;
    if (Date.now() > end) fail(step, 'not within ' + TIMEOUT / 1000 + ' s');
    await new Promise((r) => setTimeout(r, 100));
  }
}

const cell = (page, row, column) =>
  page.locator(`[data-testid="${row}"] td:nth-child(${column})`).textContent({ timeout: 1000 })
    .then(Number).catch(() => NaN);

const browser = await chromium.launch({
  executablePath: '/usr/bin/chromium',
  args: ['--no-sandbox', '--disable-dev-shm-usage'],
});
let worker = null;
try {
  const context = await browser.newContext({ viewport: { width: 1366, height: 900 } });
  const page = await context.newPage();
  page.on('pageerror', (e) => fail('page', 'script error: ' + e.message));

  // 1. A wrong token is refused.
  await page.goto(base + '/dashboard');
  await page.fill('#token', 'uto_1_not-the-secret');
  await page.click('#signin-form button[type=submit]');
  await until('wrong token refused', async () =>
    /refused/i.test(await page.textContent('[data-testid=signin-error]')));
  if (await page.isVisible('#app')) fail('wrong token refused', 'the dashboard was shown');
  if (await page.evaluate(() => sessionStorage.length) !== 0) fail('wrong token', 'token kept');

  // 2. The operator token signs in; it is kept in this tab, never in the URL.
  await page.fill('#token', token);
  await page.click('#signin-form button[type=submit]');
  await page.waitForSelector('#app:not([hidden])', { timeout: TIMEOUT });
  if (page.url().includes(token)) fail('sign in', 'the token is in the URL');
  await page.evaluate(() => { window.unityNotReloaded = true; });

  // 3. The backlog falls on the page while a worker drains it.
  await until('backlog shown', async () => (await cell(page, 'queue-default', 2)) === backlog + 1);
  worker = startWorker('dash-worker');
  const seen = new Set();
  await until('backlog drained', async () => {
    const ready = await cell(page, 'queue-default', 2);
    if (!Number.isNaN(ready)) seen.add(ready);
    return ready === 0;
  });
  const between = [...seen].filter((v) => v > 0 && v < backlog + 1);
  if (between.length === 0) fail('backlog falls', 'no value between seen: ' + [...seen]);
  await until('worker listed', () => page.isVisible('[data-testid="worker-dash-worker"]'));
  if (!(await page.evaluate(() => window.unityNotReloaded))) fail('live', 'the page reloaded');

  // 4. The failed job appears with its exception and masked payload; Retry re-queues it.
  const failed = page.locator('[data-testid^="failed-"]').first();
  await until('failed job shown', async () => /failing attempt/.test(
    (await failed.textContent({ timeout: 1000 }).catch(() => '')) || ''));
  const failedText = await failed.textContent();
  if (!failedText.includes('diag.fail')) fail('failed job', failedText);
  if (failedText.includes('hunter2')) fail('failed job', 'a secret in the payload is shown');
  if (shots) await page.screenshot({ path: shots + '/dashboard-laptop.png', fullPage: true });
  await worker.stop();
  worker = null;
  await failed.getByRole('button', { name: 'Retry' }).click();
  await until('retried', async () => (await page.locator('[data-testid^="failed-"]').count()) === 0 &&
                                     (await cell(page, 'queue-default', 2)) === 1);

  // 5. Pausing tenant A holds its jobs; tenant B's run meanwhile; resuming releases A's.
  const rowA = `tenant-${tenantA}`;
  await page.locator(`[data-testid="${rowA}"]`).getByRole('button', { name: 'Pause' }).click();
  await until('paused', async () =>
    (await page.textContent(`[data-testid="${rowA}"] [data-testid=tenant-state]`)) === 'paused');
  cli('queue:dispatch', 'diag.noop', '--tenant=' + tenantB, '--count=3');
  await until('B queued', async () => (await cell(page, `tenant-${tenantB}`, 2)) === 3);
  worker = startWorker('dash-worker-2');
  await until('B ran while A held', async () => (await cell(page, `tenant-${tenantB}`, 2)) === 0);
  if ((await cell(page, rowA, 2)) !== 1) fail('held', 'tenant A\'s job did not stay held');
  await page.locator(`[data-testid="${rowA}"]`).getByRole('button', { name: 'Resume' }).click();
  await until('resumed', async () =>
    (await page.textContent(`[data-testid="${rowA}"] [data-testid=tenant-state]`)) === 'active');
  // Its job runs: diag.fail fails its first attempt, so it is back among the failed jobs.
  await until('A ran', async () => (await cell(page, rowA, 2)) === 0 &&
                                   (await page.locator('[data-testid^="failed-"]').count()) === 1);

  // 6. Forget deletes it.
  await page.locator('[data-testid^="failed-"]').first().getByRole('button', { name: 'Forget' })
    .click();
  await until('forgotten', async () => (await page.locator('[data-testid^="failed-"]').count()) === 0);
  await worker.stop();
  worker = null;

  if (shots) {
    const phone = await browser.newContext({ viewport: { width: 390, height: 844 },
                                             deviceScaleFactor: 2, isMobile: true });
    const p = await phone.newPage();
    await p.goto(base + '/dashboard');
    await p.fill('#token', token);
    await p.click('#signin-form button[type=submit]');
    await p.waitForSelector('#app:not([hidden])', { timeout: TIMEOUT });
    await p.screenshot({ path: shots + '/dashboard-phone.png' });
    const width = await p.evaluate(() => document.documentElement.scrollWidth);
    if (width > 390) fail('phone', 'the page is wider than the phone: ' + width + ' px');
  }
  console.log('dashboard: every step held');
} finally {
  if (worker) await worker.stop();
  await browser.close();
}
