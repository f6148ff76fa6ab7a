// Applying online in a real (headless) Chromium: a resident applies for
// 个体工商户设立登记 with an upload, with JavaScript on and off; the window clerk
// accepts it from the worklist; axe-core finds no violations on the form, the
// upload page, check your answers, the confirmation and the worklist.
//
// Run: node --test tests/browser/apply.test.mjs

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { journeyKit } from './helpers.mjs';

const ITEM = '1305340101001';
const TEST_TIMEOUT = 120_000;
// The smallest JPEG header the server's type check recognises, as a phone photo would start.
const JPEG = Buffer.from([0xff, 0xd8, 0xff, 0xe0, 0x00, 0x10, 0x4a, 0x46, 0x49, 0x46, 0x00, 0x01]);
const REQUIRED = ['个体工商户登记（备案）申请书', '经营者居民身份证', '经营场所使用证明或《住所（经营场所）申报承诺书》'];

const { RESIDENT, url, withPage, noAxeViolations, clickAndWait, residentPage, staffSignIn } = journeyKit({ before, after, assert });

async function applyWithUpload(page, { axe }) {
  await page.goto(url(`/items/${ITEM}`));
  await clickAndWait(page, page.getByRole('button', { name: '在线申请' }));
  assert.match(new URL(page.url()).pathname, /^\/cases\/[^/]+\/answers$/);
  const caseUrl = new URL(page.url()).pathname.replace(/\/answers$/, '');

  // The form has eight questions, so it asks one at a time.
  const next = () => clickAndWait(page, page.getByRole('button', { name: '继续', exact: true }));
  assert.match(await page.locator('.caption').innerText(), /第 1 题，共 8 题/);
  if (axe) await noAxeViolations(page, 'the first question');
  // An empty required answer is refused on its own page.
  await next();
  assert.match(await page.locator('#error-summary').innerText(), /经营者姓名/);
  await page.locator('#operator_name').fill('李明');
  await next();
  // A wrong ID number is shown beside the field and in the summary; what was typed stays.
  await page.locator('#id_number').fill('110105194912310021');
  await next();
  assert.match(await page.locator('#error-summary').innerText(), /校验位/);
  assert.equal(await page.locator('#id_number').inputValue(), '110105194912310021');
  if (axe) await noAxeViolations(page, 'a question with an error');
  await page.locator('#id_number').fill('11010519491231002X');
  await next();
  await page.locator('#phone').fill(RESIDENT);
  // Half-way, the applicant saves and comes back later: the draft resumes at the next question.
  await clickAndWait(page, page.getByRole('button', { name: '保存，稍后继续' }));
  assert.equal(new URL(page.url()).pathname, '/me/cases');
  await page.goto(url(`${caseUrl}/answers`));
  assert.match(await page.locator('.caption').innerText(), /第 4 题/);
  await next(); // the trade name is optional
  await page.locator('#scope').fill('针纺织品销售；服装服饰零售');
  await next();
  await page.locator('#premises_type').selectOption('实体门店');
  await next();
  await page.locator('#premises').fill('清河县城东村羊绒街 18 号');
  await next();
  // The way back keeps what was answered.
  await clickAndWait(page, page.getByRole('link', { name: '返回上一步' }));
  assert.equal(await page.locator('#premises').inputValue(), '清河县城东村羊绒街 18 号');
  await next();
  await page.locator('#form').selectOption('个人经营');
  await next();
  assert.equal(new URL(page.url()).pathname, `${caseUrl}/materials`);
  if (axe) await noAxeViolations(page, 'the upload page');

  for (const material of REQUIRED) {
    await page.locator('#material').selectOption(material);
    await page.locator('#file').setInputFiles({ name: 'scan.jpg', mimeType: 'image/jpeg', buffer: JPEG });
    await clickAndWait(page, page.getByRole('button', { name: '上传' }));
    assert.equal(new URL(page.url()).pathname, `${caseUrl}/materials`);
  }
  await clickAndWait(page, page.getByRole('link', { name: '材料已传好，去核对并提交' }));
  assert.match(await page.locator('h1').innerText(), /核对您的申请/);
  if (axe) await noAxeViolations(page, 'check your answers');
  // A change link opens that one question and comes back to the check page.
  await clickAndWait(page, page.getByRole('link', { name: '修改 经营场所地址或网店网址' }));
  await page.locator('#premises').fill('清河县城东村羊绒街 20 号');
  await next();
  assert.equal(new URL(page.url()).pathname, caseUrl);
  assert.match(await page.locator('main').innerText(), /羊绒街 20 号/);
  await clickAndWait(page, page.getByRole('button', { name: '确认提交' }));
  const reference = (await page.locator('.confirmation .reference').innerText()).trim();
  assert.match(reference, /^[2-9A-HJKMNP-Z]{3}-[2-9A-HJKMNP-Z]{3}-[2-9A-HJKMNP-Z]{3}$/);
  if (axe) await noAxeViolations(page, 'the confirmation');
  return { caseUrl, reference };
}

test('a resident applies with an upload (JavaScript on); the window accepts it and the handler grants it from their worklists', { timeout: TEST_TIMEOUT }, async () => {
  const { caseUrl, reference } = await residentPage({}, (page) => applyWithUpload(page, { axe: true }));
  await withPage({}, async (page) => {
    await staffSignIn(page, 'clerk');
    await page.goto(url('/staff/worklist'));
    await noAxeViolations(page, 'the worklist');
    await clickAndWait(page, page.getByRole('link', { name: reference }));
    assert.equal(new URL(page.url()).pathname, caseUrl);
    await clickAndWait(page, page.getByRole('button', { name: '受理', exact: true }));
    assert.match(await page.locator('dl.summary').first().innerText(), /办理中/);
    assert.match(await page.locator('ol.timeline').innerText(), /受理/);
  });
  // The approvals handler finds it in their own worklist, reviews it and grants it.
  await withPage({}, async (page) => {
    await staffSignIn(page, 'spj.handler');
    await page.goto(url('/staff/worklist'));
    await clickAndWait(page, page.getByRole('link', { name: reference }));
    await clickAndWait(page, page.getByRole('button', { name: '审查通过', exact: true }));
    await clickAndWait(page, page.getByRole('button', { name: '准予许可', exact: true }));
    assert.match(await page.locator('ol.timeline').innerText(), /准予许可/);
    if (!/送达结果/.test(await page.locator('main').innerText())) {
      assert.fail('after the decision the result is to be delivered');
    }
  });
});

test('a resident applies with an upload with JavaScript off', { timeout: TEST_TIMEOUT }, async () => {
  await residentPage({ javaScriptEnabled: false }, (page) => applyWithUpload(page, { axe: false }));
});
