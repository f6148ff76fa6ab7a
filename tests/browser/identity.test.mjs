// Signing in, checked in a real (headless) Chromium: a resident signs in with the
// code the development SMS sink received, completes the real-name profile and signs
// out; a supervisor signs in with password and an authenticator code (TOTP is
// required for supervisors in this server's settings), enrolling on first sign-in.
//
// Run: node --test tests/browser/identity.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { startServer, launchBrowser, newMobileContext, runAxe, formatViolations } from './helpers.mjs';

const RESIDENT_PHONE = '13912345678';
// A valid GB 11643 number for someone born 1958-03-07 in Qinghe (check digit computed below).
const RESIDENT_ID_BODY = '13053419580307002';
const DEMO_PASSWORD = 'Qinghe-demo-2026';
const TEST_TIMEOUT = 90_000;

let server;
let browser;

before(async () => {
  server = await startServer({ TONGBAN_TOTP_ROLES: '["supervisor"]' });
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function withPage(fn) {
  // bypassCSP lets the axe-core script in; the pages themselves run no inline script.
  const context = await newMobileContext(browser, { bypassCSP: true });
  try {
    const page = await context.newPage();
    return await fn(page, context);
  } finally {
    await context.close();
  }
}

/** GB 11643 check character for the first 17 digits. */
function idCheckChar(body) {
  const weights = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
  const sum = [...body].reduce((acc, d, i) => acc + Number(d) * weights[i], 0);
  return '10X98765432'[sum % 11];
}

/** RFC 6238 TOTP (HMAC-SHA1, 30 s, 6 digits) from a base32 secret, as an authenticator app computes it. */
function totp(secretBase32, unixSeconds = Date.now() / 1000) {
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
  let bits = '';
  for (const ch of secretBase32.replace(/=+$/, '').toUpperCase()) {
    const v = alphabet.indexOf(ch);
    if (v < 0) throw new Error(`not base32: ${ch}`);
    bits += v.toString(2).padStart(5, '0');
  }
  const key = Buffer.alloc(Math.floor(bits.length / 8));
  for (let i = 0; i < key.length; i++) key[i] = parseInt(bits.slice(i * 8, i * 8 + 8), 2);
  const counter = Buffer.alloc(8);
  counter.writeBigUInt64BE(BigInt(Math.floor(unixSeconds / 30)));
  const mac = createHmac('sha1', key).update(counter).digest();
  const offset = mac[mac.length - 1] & 0xf;
  const n = (mac.readUInt32BE(offset) & 0x7fffffff) % 1_000_000;
  return String(n).padStart(6, '0');
}

/** The newest six-digit code the development SMS sink shows for a masked number. */
async function latestCode(context, maskedPhone) {
  const page = await context.newPage();
  try {
    await page.goto(new URL('/dev/sms', server.url).href);
    const items = await page.locator('ol.sms li').allInnerTexts();
    const mine = items.filter((t) => t.includes(maskedPhone));
    assert.ok(mine.length > 0, `no SMS for ${maskedPhone} on /dev/sms: ${items.join(' | ')}`);
    const m = /\b(\d{6})\b/.exec(mine[mine.length - 1]);
    assert.ok(m, `no six-digit code in: ${mine[mine.length - 1]}`);
    return m[1];
  } finally {
    await page.close();
  }
}

async function submit(page, buttonText) {
  await Promise.all([page.waitForLoadState('load'), page.getByRole('button', { name: buttonText }).click()]);
}

async function assertNoAxeViolations(page, what) {
  const results = await runAxe(page);
  assert.equal(results.violations.length, 0, `axe violations on ${what}:\n${formatViolations(results.violations)}`);
}

test('a resident signs in with an SMS code, completes real-name and signs out', { timeout: TEST_TIMEOUT }, async () => {
  await withPage(async (page, context) => {
    await page.goto(server.url);
    await Promise.all([page.waitForURL((u) => u.pathname === '/sign-in'), page.getByRole('link', { name: '登录' }).first().click()]);
    await assertNoAxeViolations(page, 'the sign-in page');

    // A malformed number is refused next to the field, with the summary linking to it.
    await page.locator('#phone').fill('1391234');
    await submit(page, '获取验证码');
    await assert.doesNotReject(page.locator('#error-summary').waitFor());
    assert.equal(await page.locator('#phone').getAttribute('aria-invalid'), 'true');

    await page.locator('#phone').fill(RESIDENT_PHONE);
    await submit(page, '获取验证码');
    await page.locator('#code').waitFor();
    const masked = `${RESIDENT_PHONE.slice(0, 3)}****${RESIDENT_PHONE.slice(7)}`;
    const code = await latestCode(context, masked);

    // A wrong code is refused and says how many tries are left; the right one still works.
    const wrong = code === '000000' ? '111111' : '000000';
    await page.locator('#code').fill(wrong);
    await submit(page, '登录');
    assert.match(await page.locator('#error-summary').innerText(), /还可以再试|次/);
    await page.locator('#code').fill(code);
    await Promise.all([page.waitForURL((u) => u.pathname === '/me'), page.getByRole('button', { name: '登录' }).click()]);

    // The session cookie is HttpOnly and SameSite.
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'tb_session');
    assert.ok(session, `no session cookie among ${cookies.map((c) => c.name).join(', ')}`);
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Lax');

    await assertNoAxeViolations(page, 'the profile page');

    // A wrong check digit is refused with a precise message; nothing is saved.
    const good = RESIDENT_ID_BODY + idCheckChar(RESIDENT_ID_BODY);
    const bad = RESIDENT_ID_BODY + (good.endsWith('0') ? '1' : '0');
    await page.locator('#name').fill('张秀英');
    await page.locator('#id_number').fill(bad);
    await submit(page, '提交实名信息');
    assert.match(await page.locator('#id_number-error').innerText(), /校验/);
    await page.locator('#id_number').fill(good);
    await submit(page, '提交实名信息');

    const profile = await page.locator('dl.profile').innerText();
    assert.match(profile, /张秀英/);
    assert.match(profile, /130534\*{8}\d{3}[\dX]/, `ID number must be masked: ${profile}`);
    assert.ok(!profile.includes(good), 'the full ID number must never be shown to its owner on screen');
    assert.match(profile, /139\*{4}5678/);

    await Promise.all([page.waitForURL((u) => u.pathname === '/'), page.getByRole('button', { name: '退出登录', exact: true }).click()]);
    assert.equal((await context.cookies()).find((c) => c.name === 'tb_session' && c.value), undefined);
    await page.goto(new URL('/me', server.url).href);
    assert.equal(new URL(page.url()).pathname, '/sign-in');
  });
});

test('a supervisor signs in with password and an authenticator code', { timeout: TEST_TIMEOUT }, async () => {
  await withPage(async (page) => {
    await page.goto(new URL('/staff/sign-in', server.url).href);
    await assertNoAxeViolations(page, 'the staff sign-in page');

    // A wrong password is refused without saying which half was wrong.
    await page.locator('#username').fill('supervisor');
    await page.locator('#password').fill('not-the-password');
    await submit(page, '登录');
    assert.match(await page.locator('#error-summary').innerText(), /用户名或密码/);

    await page.locator('#username').fill('supervisor');
    await page.locator('#password').fill(DEMO_PASSWORD);
    await Promise.all([
      page.waitForURL((u) => u.pathname === '/staff/second-factor'),
      page.getByRole('button', { name: '登录' }).click(),
    ]);

    // First sign-in: enrol. The page shows a QR code and the secret for manual entry.
    await page.locator('.qr svg').waitFor();
    const secret = (await page.locator('code.secret').innerText()).replace(/\s+/g, '');
    assert.match(secret, /^[A-Z2-7]{16,}$/);
    await assertNoAxeViolations(page, 'the authenticator enrolment page');

    // Staff pages stay closed until the second factor is given.
    const probe = await page.context().request.get(new URL('/staff/audit', server.url).href, { maxRedirects: 0 });
    assert.equal(probe.status(), 303);

    await page.locator('#code').fill('000000' === totp(secret) ? '111111' : '000000');
    await submit(page, '验证');
    await page.locator('#error-summary').waitFor();

    await page.locator('#code').fill(totp(secret));
    await Promise.all([page.waitForURL((u) => u.pathname === '/staff'), page.getByRole('button', { name: '验证' }).click()]);
    await assertNoAxeViolations(page, 'the staff home page');

    // A supervisor may browse the audit log, which recorded the sign-in and the enrolment.
    await page.goto(new URL('/staff/audit', server.url).href);
    assert.equal(new URL(page.url()).pathname, '/staff/audit');
    const log = await page.locator('main').innerText();
    assert.match(log, /totp|second/i, `the audit log shows the enrolment: ${log.slice(0, 500)}`);
  });
});
