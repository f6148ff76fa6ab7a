// Requests and complaints in a real (headless) Chromium: a resident reports unpaid wages with
// a photo and follows it; the dispatcher dispatches it using a routing suggestion; axe-core
// finds no violations on the form, the confirmation, the dispatch desk and the request page.
//
// Run: node --test tests/browser/requests.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { journeyKit } from './helpers.mjs';

const TEST_TIMEOUT = 120_000;
// A real 1×1 PNG, as small as a photo gets.
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==', 'base64');

const { url, withPage, noAxeViolations, clickAndWait, residentPage, staffSignIn } = journeyKit({ before, after, assert });

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
