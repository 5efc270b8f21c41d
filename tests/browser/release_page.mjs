// SPDX-License-Identifier: Apache-2.0
// The release web page in a real browser (issue #7): Debian's headless Chromium driven
// by playwright-core (no browser download). Started by
// tests/integration/test_release_page.py, which owns the daemon, the stand-in and the
// printer, and runs one phase at a time:
//
//   node release_page.mjs online   log in with a PIN (stand-in up), see the held jobs, CSRF
//                                  refusals, release one job, follow its status, log out;
//                                  then log in with the card, and with name+password
//   node release_page.mjs expire   a session left idle past release.session_idle is refused
//                                  and sent back to the login page
//   node release_page.mjs offline  the offline banner, an offline PIN login, a release; then
//                                  offline card and password logins
//
// Input (environment): PG_RELEASE_URL (https://127.0.0.1:PORT), PG_SHOTS (screenshot
// folder), PG_CASE (JSON: pin, wrong_pin, card, username, password, wrong_password,
// printer, mine [{id, title}], others [{id, title}], release (the id to release), gone
// (ids released before), idle_s). Output: one JSON line on stdout with
// what the phase saw; any failed expectation exits non-zero with the reason.
import assert from 'node:assert/strict';
import path from 'node:path';
import { chromium } from 'playwright-core';

const BASE = process.env.PG_RELEASE_URL;
const SHOTS = process.env.PG_SHOTS;
const CASE = JSON.parse(process.env.PG_CASE || '{}');
const phase = process.argv[2];
assert.ok(BASE && SHOTS && phase, 'PG_RELEASE_URL, PG_SHOTS and a phase are needed');

const shot = (page, name) => page.screenshot({ path: path.join(SHOTS, `${name}.png`), fullPage: true });

// Clicks what submits a form or follows a link, and waits for the next page to load.
async function follow(page, selector) {
  const navigated = page.waitForEvent('framenavigated', { timeout: 30_000 });
  await page.click(selector);
  await navigated;
  await page.waitForLoadState('load');
}

async function login(page, pin) {
  await page.goto(`${BASE}/`);
  await page.fill('#pin', pin);
  await follow(page, '#login-pin button[type=submit]');
}

async function loginWithCard(page, card) {
  await page.goto(`${BASE}/`);
  await page.fill('#card', card);
  await follow(page, '#login-card button[type=submit]');
}

async function loginWithPassword(page, username, password) {
  await page.goto(`${BASE}/`);
  await page.fill('#username', username);
  await page.fill('#password', password);
  await follow(page, '#login-password button[type=submit]');
}

// Logged in (the job list), the held jobs listed are `ids`; then logs out.
async function seesJobsThenLogsOut(page, ids, how) {
  assert.equal(new URL(page.url()).pathname, '/jobs', `the ${how} login leads to the job list`);
  const listed = await page.locator('input[name=job]').evaluateAll((els) => els.map((e) => Number(e.value)));
  assert.deepEqual(listed.sort((a, b) => a - b), [...ids].sort((a, b) => a - b), `the jobs after the ${how} login`);
  await follow(page, '#logout');
  assert.equal(new URL(page.url()).pathname, '/');
}

// The hidden CSRF value of the first form on the page.
const csrfOf = (page) => page.locator('input[name=csrf]').first().getAttribute('value');

async function expectCsrfRefusals(page, context) {
  // A form post without the token, and with a wrong one, is refused with 403 (the
  // session cookie is sent: the request context shares the page's cookies).
  const form = { job: String(CASE.release), printer: CASE.printer, do: 'selected' };
  const none = await context.request.post(`${BASE}/release`, { form, maxRedirects: 0 });
  assert.equal(none.status(), 403, 'a release without a CSRF token');
  const wrong = await context.request.post(`${BASE}/release`,
    { form: { ...form, csrf: 'A'.repeat(43) }, maxRedirects: 0 });
  assert.equal(wrong.status(), 403, 'a release with a wrong CSRF token');
  assert.match(await wrong.text(), /Nothing was done/);
  const logout = await context.request.post(`${BASE}/logout`, { form: {}, maxRedirects: 0 });
  assert.equal(logout.status(), 403, 'a log-out without a CSRF token');
}

async function online(browser) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 412, height: 915 } });
  const page = await context.newPage();
  const seen = {};

  const first = await page.goto(`${BASE}/`);
  assert.equal(first.status(), 200);
  const h = first.headers();
  assert.equal(h['cache-control'], 'no-store');
  assert.match(h['content-security-policy'], /default-src 'none'/);
  assert.equal(await page.locator('#offline-banner').count(), 0, 'no offline banner while the server is up');
  assert.equal(await page.locator('meta[name=viewport]').count(), 1);
  await shot(page, 'login');

  // The login form's own CSRF token: a post without it, or with a wrong one, is refused.
  const noToken = await context.request.post(`${BASE}/login`,
    { form: { method: 'pin', pin: CASE.pin }, maxRedirects: 0 });
  assert.equal(noToken.status(), 403, 'a login without a CSRF token');
  const badToken = await context.request.post(`${BASE}/login`,
    { form: { method: 'pin', pin: CASE.pin, csrf: 'B'.repeat(43) }, maxRedirects: 0 });
  assert.equal(badToken.status(), 403, 'a login with a wrong CSRF token');
  // The login cookie and the hidden field belong together: the field alone is not enough.
  const field = await csrfOf(page);
  const fresh = await browser.newContext({ ignoreHTTPSErrors: true });
  const stolen = await fresh.request.post(`${BASE}/login`,
    { form: { method: 'pin', pin: CASE.pin, csrf: field }, maxRedirects: 0 });
  assert.equal(stolen.status(), 403, 'a login with a token from another browser');
  await fresh.close();

  // A wrong PIN gets the one generic refusal.
  await login(page, CASE.wrong_pin);
  assert.equal(new URL(page.url()).pathname, '/login');
  assert.match(await page.textContent('#notice'), /Login failed/);
  seen.refusal = (await page.textContent('#notice')).trim();

  await login(page, CASE.pin);
  assert.equal(new URL(page.url()).pathname, '/jobs', 'the PIN login leads to the job list');
  const cookies = await context.cookies();
  const session = cookies.find((c) => c.name === 'pg_session');
  assert.ok(session, 'a pg_session cookie');
  assert.ok(session.secure && session.httpOnly && session.sameSite === 'Strict', JSON.stringify(session));
  assert.equal(session.expires, -1, 'a session cookie (no Max-Age)');
  assert.equal(await page.locator('#offline-login').count(), 0);

  // Exactly the user's held jobs, titles escaped (shown as text, not markup).
  const ids = await page.locator('input[name=job]').evaluateAll((els) => els.map((e) => Number(e.value)));
  assert.deepEqual(ids.sort((a, b) => a - b), CASE.mine.map((j) => j.id).sort((a, b) => a - b));
  for (const j of CASE.mine) {
    assert.equal((await page.textContent(`#job-${j.id} .title`)).trim(), j.title);
    assert.match(await page.textContent(`#job-${j.id} .printers`), new RegExp(`Can print on: .*${CASE.printer}`));
  }
  for (const j of CASE.others) assert.equal(await page.locator(`#job-${j.id}`).count(), 0, 'another user\'s job');
  assert.equal(await page.locator('main b, main script').count(), 0, 'a title became markup');
  const printers = await page.locator('#printer option').evaluateAll((els) => els.map((e) => e.value));
  assert.deepEqual(printers, [CASE.printer], 'only the printers offered on the page');
  await shot(page, 'jobs');

  await expectCsrfRefusals(page, context);

  // Release one job to the printer and follow it.
  await page.check(`#job-${CASE.release} input`);
  await page.selectOption('#printer', CASE.printer);
  await follow(page, '#release-selected');
  assert.equal(new URL(page.url()).pathname, '/release');
  const outcome = page.locator(`#outcome-${CASE.release}`);
  assert.equal(await outcome.getAttribute('data-status'), 'released');
  assert.match(await outcome.textContent(), new RegExp(`released to ${CASE.printer}`));
  await shot(page, 'outcome');
  // Refresh the status until the printer has it (bounded: 60 s).
  const deadline = Date.now() + 60_000;
  let state = await page.getAttribute(`#status-${CASE.release}`, 'data-state');
  while (state !== 'completed') {
    assert.ok(Date.now() < deadline, `job ${CASE.release} still ${state} after 60 s`);
    assert.ok(['pending', 'processing'].includes(state), `job ${CASE.release} is ${state}`);
    await page.waitForTimeout(250);
    await follow(page, '#refresh');
    state = await page.getAttribute(`#status-${CASE.release}`, 'data-state');
  }
  assert.match(await page.textContent(`#status-${CASE.release}`), /printed/);
  await shot(page, 'status');
  seen.released = CASE.release;

  // The released job has left the list.
  await follow(page, '#back');
  assert.equal(await page.locator(`#job-${CASE.release}`).count(), 0);

  // Log out: the session is gone for good.
  await follow(page, '#logout');
  assert.equal(new URL(page.url()).pathname, '/');
  assert.match(await page.textContent('#notice'), /logged out/);
  const after = await context.request.get(`${BASE}/jobs`, { maxRedirects: 0 });
  assert.equal(after.status(), 303);

  // The card and the name+password forms reach the same jobs (verified by the server);
  // a wrong password gets the same refusal as a wrong PIN.
  const left = CASE.mine.map((j) => j.id).filter((id) => id !== CASE.release);
  await loginWithCard(page, CASE.card);
  await shot(page, 'card-login');
  await seesJobsThenLogsOut(page, left, 'card');
  await loginWithPassword(page, CASE.username, CASE.wrong_password);
  assert.equal(new URL(page.url()).pathname, '/login');
  assert.equal((await page.textContent('#notice')).trim(), seen.refusal);
  await loginWithPassword(page, CASE.username, CASE.password);
  await seesJobsThenLogsOut(page, left, 'password');
  seen.methods = ['pin', 'card', 'password'];
  await context.close();
  return seen;
}

async function expire(browser) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true });
  const page = await context.newPage();
  await login(page, CASE.pin);
  assert.equal(new URL(page.url()).pathname, '/jobs');
  const token = await csrfOf(page);
  const session = (await context.cookies()).find((c) => c.name === 'pg_session');
  assert.ok(session);
  const lastUse = Date.now();
  // Idle past release.session_idle: nothing may touch the session meanwhile (a request
  // would renew it), so this waits for the deadline itself, checking the clock.
  const until = lastUse + (CASE.idle_s + 1) * 1000;
  while (Date.now() < until) await new Promise((r) => setTimeout(r, Math.min(200, until - Date.now())));
  // The job page sends the browser to the login page, which says why (and the ended
  // session's cookie is cleared).
  await page.goto(`${BASE}/jobs`);
  assert.equal(new URL(page.url()).pathname, '/');
  assert.match(await page.textContent('#notice'), /session ended/);
  assert.equal(await page.locator('#login-pin').count(), 1);
  assert.equal((await context.cookies()).find((c) => c.name === 'pg_session'), undefined);
  // A form post with the ended session's cookie and its right CSRF token does nothing
  // and goes to the login page too.
  await context.addCookies([session]);
  const post = await context.request.post(`${BASE}/release`,
    { form: { csrf: token, job: String(CASE.release), printer: CASE.printer, do: 'selected' }, maxRedirects: 0 });
  assert.equal(post.status(), 303, 'a post on an ended session');
  assert.equal(post.headers()['location'], '/?ended');
  await shot(page, 'session-ended');
  await context.close();
  return { expired: true };
}

async function offline(browser) {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 800, height: 600 } });
  const page = await context.newPage();
  await page.goto(`${BASE}/`);
  const banner = page.locator('#offline-banner');
  assert.equal(await banner.count(), 1, 'the offline banner');
  assert.match(await banner.textContent(), /central print server cannot be reached/);
  await shot(page, 'offline-banner');

  await login(page, CASE.pin);
  assert.equal(new URL(page.url()).pathname, '/jobs', 'the offline PIN login leads to the job list');
  assert.equal(await page.locator('#offline-banner').count(), 1);
  const mine = page.locator('#offline-login');
  assert.match(await mine.textContent(), /You are logged in offline/);
  assert.match(await mine.textContent(), /held jobs can be released at this branch's printers/);
  const ids = await page.locator('input[name=job]').evaluateAll((els) => els.map((e) => Number(e.value)));
  assert.ok(ids.includes(CASE.release), `job ${CASE.release} is listed offline`);
  await shot(page, 'offline-jobs');

  await page.check(`#job-${CASE.release} input`);
  await page.selectOption('#printer', CASE.printer);
  await follow(page, '#release-selected');
  assert.equal(await page.getAttribute(`#outcome-${CASE.release}`, 'data-status'), 'released');
  await shot(page, 'offline-outcome');
  await follow(page, '#back');
  await follow(page, '#logout');

  // Offline, the card and the password used online here work too (the cache).
  const left = CASE.mine.map((j) => j.id).filter((id) => id !== CASE.release && !CASE.gone.includes(id));
  await loginWithCard(page, CASE.card);
  assert.equal(await page.locator('#offline-login').count(), 1);
  await seesJobsThenLogsOut(page, left, 'offline card');
  await loginWithPassword(page, CASE.username, CASE.password);
  assert.equal(await page.locator('#offline-login').count(), 1);
  await seesJobsThenLogsOut(page, left, 'offline password');
  await context.close();
  return { released: CASE.release, methods: ['pin', 'card', 'password'] };
}

const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox'] });
try {
  const phases = { online, expire, offline };
  assert.ok(phases[phase], `unknown phase ${phase}`);
  const seen = await phases[phase](browser);
  console.log(JSON.stringify({ phase, ok: true, ...seen }));
} finally {
  await browser.close();
}
