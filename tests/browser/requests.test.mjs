// Requests and complaints in a real (headless) Chromium: a resident reports unpaid wages with
// a photo and follows it; the dispatcher dispatches it using a routing suggestion; axe-core
// finds no violations on the form, the confirmation, the dispatch desk and the request page.
//
// Run: node --test tests/browser/requests.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launchBrowser, newMobileContext, runAxe, formatViolations } from './helpers.mjs';

const RESIDENT = '13800000001';
const PASSWORD = 'Qinghe-demo-2026';
const TEST_TIMEOUT = 120_000;
// A real 1×1 PNG, as small as a photo gets.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

let server;
let browser;

before(async () => {
  server = await startServer();
  browser = await launchBrowser();
});

after(async () => {
  await browser?.close();
  await server?.stop();
});

async function withPage(options, fn) {
  // bypassCSP lets the axe-core script in; the pages themselves run no inline script.
  const context = await newMobileContext(browser, { bypassCSP: true, ...options });
  try {
    return await fn(await context.newPage(), context);
  } finally {
    await context.close();
  }
}

async function noAxeViolations(page, what) {
  const results = await runAxe(page);
  assert.equal(results.violations.length, 0, `axe violations on ${what}:\n${formatViolations(results.violations)}`);
}

const url = (path) => new URL(path, server.url).href;

async function clickAndWait(page, locator) {
  await Promise.all([page.waitForLoadState('load'), locator.click()]);
}

async function residentSignIn(page, context) {
  await page.goto(url('/sign-in'));
  await page.locator('#phone').fill(RESIDENT);
  await clickAndWait(page, page.getByRole('button', { name: '获取验证码' }));
  await page.locator('#code').waitFor();
  const sms = await context.newPage();
  await sms.goto(url('/dev/sms'));
  const texts = await sms.locator('ol.sms li').allInnerTexts();
  await sms.close();
  const code = /\b(\d{6})\b/.exec(texts.find((t) => t.includes('138****0001')) ?? '')?.[1];
  assert.ok(code, `no code in ${texts.join(' | ')}`);
  await page.locator('#code').fill(code);
  await clickAndWait(page, page.getByRole('button', { name: '登录' }));
}

// Codes are limited to one a minute per number, so the resident signs in once and both
// journeys reuse the session.
let residentState;

async function residentPage(options, fn) {
  if (!residentState) {
    residentState = await withPage({}, async (page, context) => {
      await residentSignIn(page, context);
      return context.storageState();
    });
  }
  return withPage({ ...options, storageState: residentState }, fn);
}

async function staffSignIn(page, username) {
  await page.goto(url('/staff/sign-in'));
  await page.locator('#username').fill(username);
  await page.locator('#password').fill(PASSWORD);
  await clickAndWait(page, page.getByRole('button', { name: '登录' }));
}


test('a resident reports unpaid wages with a photo and follows it; the dispatcher uses a suggestion', { timeout: TEST_TIMEOUT }, async () => {
  const requestUrl = await residentPage({}, async (page) => {
    await page.goto(url('/requests/new'));
    await noAxeViolations(page, 'the report form');
    // Nothing chosen: every problem is listed, nothing is filed.
    await clickAndWait(page, page.getByRole('button', { name: '提交', exact: true }));
    assert.match(await page.locator('#error-summary').innerText(), /诉求类型/);
    await page.locator('#kind').selectOption('complaint');
    await page.locator('#category').selectOption('labour.wages');
    await page.locator('#text').fill('俺在县城的羊绒厂干了三个月，老板一直拖着不发工资，说年底再给，十几个工人都没拿到钱');
    await page.locator('#township').selectOption('130534100000');
    await page.locator('#photo').setInputFiles({ name: 'gongzidan.png', mimeType: 'image/png', buffer: PNG });
    await page.getByLabel('同意去掉个人信息后公开我的诉求和答复').check();
    await clickAndWait(page, page.getByRole('button', { name: '提交', exact: true }));
    assert.match(await page.locator('h1').innerText(), /诉求已提交/);
    const reference = (await page.locator('.confirmation .reference').innerText()).trim();
    assert.match(reference, /^[2-9A-HJKMNP-Z]{3}-[2-9A-HJKMNP-Z]{3}-[2-9A-HJKMNP-Z]{3}$/);
    assert.equal(await page.locator('ul.files img.thumb').count(), 1, 'the photo is shown as a thumbnail');
    await noAxeViolations(page, 'the confirmation');
    await page.goto(url('/me/requests'));
    await clickAndWait(page, page.getByRole('link', { name: reference }));
    assert.match(await page.locator('dl.summary').innerText(), /待派单/);
    return new URL(page.url()).pathname;
  });

  await withPage({}, async (page) => {
    await staffSignIn(page, 'dispatcher');
    await page.goto(url('/staff/requests'));
    await noAxeViolations(page, 'the dispatch desk');
    await clickAndWait(page, page.locator(`a[href="${requestUrl}"]`));
    const suggestions = page.locator('ul.suggestions li');
    assert.ok(await suggestions.count() >= 1, 'routing suggestions are offered');
    assert.match(await suggestions.first().innerText(), /人力资源和社会保障局/);
    await noAxeViolations(page, 'a request with suggestions');
    await clickAndWait(page, suggestions.first().getByRole('button'));
    assert.match(await page.locator('dl.summary').innerText(), /待签收/);
    assert.match(await page.locator('ol.timeline').innerText(), /派单/);
    await page.goto(url('/staff/dashboard'));
    assert.match(await page.locator('h1').innerText(), /诉求办理情况/);
    await noAxeViolations(page, 'the dispatch-centre dashboard');
  });

  await residentPage({}, async (page) => {
    await page.goto(url(requestUrl));
    assert.match(await page.locator('dl.summary').innerText(), /人力资源和社会保障局/);
    assert.match(await page.locator('ol.timeline').innerText(), /派单/);
    await page.goto(url('/public/requests'));
    assert.match(await page.locator('h1').innerText(), /诉求公开/);
    await noAxeViolations(page, 'the published requests');
  });
});

test('the report form works without JavaScript and keeps what was typed', { timeout: TEST_TIMEOUT }, async () => {
  await residentPage({ javaScriptEnabled: false }, async (page) => {
    await page.goto(url('/requests/new'));
    await page.locator('#kind').selectOption('help');
    await page.locator('#category').selectOption('city.lighting');
    await page.locator('#text').fill('村口路灯坏了');
    // A village outside the township chosen is refused beside the field.
    await page.locator('#township').selectOption('130534100000');
    await page.locator('#village').selectOption('130534101201');
    await clickAndWait(page, page.getByRole('button', { name: '提交', exact: true }));
    assert.match(await page.locator('#error-summary').innerText(), /不在所选乡镇/);
    assert.equal(await page.locator('#text').inputValue(), '村口路灯坏了');
    await page.locator('#village').selectOption('');
    await clickAndWait(page, page.getByRole('button', { name: '提交', exact: true }));
    assert.match(await page.locator('h1').innerText(), /诉求已提交/);
  });
});
