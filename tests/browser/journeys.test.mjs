// What a resident does on a phone, checked in a real (headless) Chromium:
// search and open a guide (with and without JavaScript), switch language,
// turn on elderly mode, plus accessibility (axe-core), no third-party
// resources, and a 360 px screenshot of the home page for the README.
//
// Run: npm run test:browser   (or: node --test tests/browser/)

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { mkdir, stat } from 'node:fs/promises';
import path from 'node:path';
import {
  repoRoot,
  startServer,
  launchBrowser,
  newMobileContext,
  runAxe,
  formatViolations,
  MOBILE_VIEWPORT,
} from './helpers.mjs';

const GUIDE_CODE = '1305340101001';
const GUIDE_TITLE = '个体工商户设立登记';
const QUERY = '营业执照';
const TEST_TIMEOUT = 90_000;

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

/** Runs `fn` with a fresh page in a fresh context, closing the context afterwards. */
async function withPage(options, fn) {
  const context = await newMobileContext(browser, options);
  try {
    const page = await context.newPage();
    return await fn(page, context);
  } finally {
    await context.close();
  }
}

const htmlLang = (page) => page.evaluate(() => document.documentElement.lang);
const searchButtonText = (page) => page.locator('form.search button[type=submit]').innerText();

async function searchAndOpenGuide(page) {
  await page.goto(server.url);
  await page.locator('#q').fill(QUERY);
  await Promise.all([
    page.waitForURL((u) => u.pathname === '/search'),
    page.locator('form.search button[type=submit]').click(),
  ]);
  assert.equal(new URL(page.url()).searchParams.get('q'), QUERY, 'the query reaches the results page');
  assert.equal(await page.locator('#q').inputValue(), QUERY, 'the search box keeps the query');

  const first = page.locator('ul.cards li.card a.card-title').first();
  await first.waitFor({ state: 'visible' });
  const firstTitle = (await first.innerText()).trim();
  assert.match(firstTitle, /营业执照|个体工商户/, `first result is about business licences, got "${firstTitle}"`);

  await Promise.all([page.waitForURL(/\/items\/\d+$/), first.click()]);
  const h1 = page.locator('h1');
  await h1.waitFor({ state: 'visible' });
  assert.equal((await h1.innerText()).trim(), firstTitle, 'the guide is the one that was clicked');
  const materials = page.locator('ol.materials');
  assert.ok(await materials.isVisible(), 'the materials list is visible');
  assert.ok((await materials.locator('li').count()) > 0, 'the materials list is not empty');
  assert.ok(await page.locator('dl.facts').isVisible(), 'the key facts are visible');
}

test('resident searches 营业执照 from the home page and opens the guide', { timeout: TEST_TIMEOUT }, async () => {
  await withPage({}, async (page) => {
    await searchAndOpenGuide(page);
  });
});

test('the same search-and-open journey works with JavaScript disabled', { timeout: TEST_TIMEOUT }, async () => {
  await withPage({ javaScriptEnabled: false }, async (page) => {
    await searchAndOpenGuide(page);
    const enhanced = await page.locator('html.js').count();
    assert.equal(enhanced, 0, 'no script ran (html has no "js" class)');
  });
});

test('switching to English and back changes the interface language and persists across pages', { timeout: TEST_TIMEOUT }, async () => {
  await withPage({}, async (page, context) => {
    await page.goto(server.url);
    assert.equal(await htmlLang(page), 'zh-CN', 'Chinese by default');
    assert.equal((await searchButtonText(page)).trim(), '搜索');

    await Promise.all([page.waitForLoadState('load'), page.locator('a[data-pref=lang]').click()]);
    await page.waitForFunction(() => document.documentElement.lang === 'en');
    assert.equal(new URL(page.url()).pathname, '/', 'the switch returns to the same page');
    assert.equal((await searchButtonText(page)).trim(), 'Search');
    const cookies = await context.cookies(server.origin);
    assert.equal(cookies.find((c) => c.name === 'tb_lang')?.value, 'en', 'the choice is kept in a cookie');

    // Persists on other pages.
    await page.goto(`${server.url}items/${GUIDE_CODE}`);
    assert.equal(await htmlLang(page), 'en', 'guide page is in English');
    await page.goto(`${server.url}search?q=${encodeURIComponent(QUERY)}`);
    assert.equal(await htmlLang(page), 'en', 'results page is in English');
    assert.equal((await searchButtonText(page)).trim(), 'Search');

    // And back, from a page other than home: it stays on that page.
    await Promise.all([page.waitForURL((u) => u.pathname === '/search'), page.locator('a[data-pref=lang]').click()]);
    await page.waitForFunction(() => document.documentElement.lang === 'zh-CN');
    assert.equal(new URL(page.url()).searchParams.get('q'), QUERY, 'the switch keeps the query');
    assert.equal((await searchButtonText(page)).trim(), '搜索');
    await page.goto(server.url);
    assert.equal(await htmlLang(page), 'zh-CN', 'Chinese persists on the home page');
    assert.equal((await searchButtonText(page)).trim(), '搜索');
  });
});

async function bodyFontPx(page) {
  return page.evaluate(() => parseFloat(getComputedStyle(document.body).fontSize));
}

/** Heights of the elements matching `selector`, with a label for failure messages. */
async function heights(page, selector) {
  return page.evaluate(
    (sel) =>
      Array.from(document.querySelectorAll(sel)).map((el) => ({
        label: `${sel} "${el.textContent.trim().slice(0, 20)}"`,
        height: el.getBoundingClientRect().height,
      })),
    selector,
  );
}

async function assertTapTargets(page, where) {
  const targets = [
    ...(await heights(page, 'a[data-pref=lang]')),
    ...(await heights(page, 'a[data-pref=care]')),
    ...(await heights(page, 'a.card-title')),
  ];
  assert.ok(targets.length >= 3, `${where}: found the tap targets`);
  const small = targets.filter((t) => t.height < 60);
  assert.deepEqual(small, [], `${where}: tap targets are at least 60 px high`);
}

test('elderly mode enlarges body text to at least 18 px and tap targets to at least 60 px, and persists', { timeout: TEST_TIMEOUT }, async () => {
  await withPage({}, async (page, context) => {
    await page.goto(server.url);
    assert.equal(await page.locator('html.care').count(), 0, 'off by default');
    assert.equal(await bodyFontPx(page), 16, 'normal text is 16 px');

    await Promise.all([page.waitForLoadState('load'), page.locator('a[data-pref=care]').click()]);
    await page.locator('html.care').waitFor({ state: 'attached' });
    assert.equal(new URL(page.url()).pathname, '/', 'the switch returns to the same page');
    const cookies = await context.cookies(server.origin);
    assert.equal(cookies.find((c) => c.name === 'tb_care')?.value, '1', 'the choice is kept in a cookie');
    assert.ok((await bodyFontPx(page)) >= 18, `body text is at least 18 px, got ${await bodyFontPx(page)}`);
    await assertTapTargets(page, 'home');

    // Persists on other pages.
    await page.goto(`${server.url}search?q=${encodeURIComponent(QUERY)}`);
    assert.equal(await page.locator('html.care').count(), 1, 'results page is in elderly mode');
    assert.ok((await bodyFontPx(page)) >= 18, 'results page text is at least 18 px');
    await assertTapTargets(page, 'results');

    await page.goto(`${server.url}items/${GUIDE_CODE}`);
    assert.equal(await page.locator('html.care').count(), 1, 'guide page is in elderly mode');
    assert.ok((await bodyFontPx(page)) >= 18, 'guide text is at least 18 px');

    // Turning it off restores normal text.
    await Promise.all([page.waitForURL((u) => u.pathname === `/items/${GUIDE_CODE}`), page.locator('a[data-pref=care]').click()]);
    await page.waitForFunction(() => !document.documentElement.classList.contains('care'));
    assert.equal(await bodyFontPx(page), 16, 'normal text again after switching off');
  });
});

test('axe-core reports no accessibility violations on the home, results and guide pages (also home in elderly mode and in English)', { timeout: TEST_TIMEOUT }, async () => {
  // The pages' CSP forbids inline scripts, so axe can only be injected with CSP bypassed.
  const pages = [
    { name: 'home', path: '' },
    { name: 'search results', path: `search?q=${encodeURIComponent(QUERY)}` },
    { name: 'guide', path: `items/${GUIDE_CODE}` },
    { name: 'home (elderly mode)', path: '', care: true },
    { name: 'home (English)', path: '', lang: 'en' },
  ];
  const failures = [];
  for (const p of pages) {
    await withPage({ bypassCSP: true }, async (page, context) => {
      if (p.care) {
        await context.addCookies([{ name: 'tb_care', value: '1', url: server.origin }]);
      }
      if (p.lang) {
        await context.addCookies([{ name: 'tb_lang', value: p.lang, url: server.origin }]);
      }
      await page.goto(server.url + p.path);
      if (p.care) assert.equal(await page.locator('html.care').count(), 1, 'elderly mode is on');
      if (p.lang) assert.equal(await htmlLang(page), p.lang, `the page is in ${p.lang}`);
      const results = await runAxe(page);
      assert.ok(results.passes.length > 0, `axe ran on ${p.name}`);
      if (results.violations.length > 0) {
        failures.push(`${p.name} (/${p.path}):\n${formatViolations(results.violations)}`);
      }
    });
  }
  if (failures.length > 0) {
    const report = failures.join('\n\n');
    console.log(`axe-core violations:\n${report}`);
    assert.fail(`axe-core found violations:\n${report}`);
  }
});

test('pages load no resource from another origin', { timeout: TEST_TIMEOUT }, async () => {
  await withPage({}, async (page, context) => {
    const requested = [];
    const consoleErrors = [];
    context.on('request', (req) => requested.push(req.url()));
    page.on('console', (msg) => {
      if (msg.type() === 'error') consoleErrors.push(msg.text());
    });
    page.on('pageerror', (err) => consoleErrors.push(String(err)));

    await page.goto(server.url);
    await page.goto(`${server.url}search?q=${encodeURIComponent(QUERY)}`);
    await page.goto(`${server.url}items/${GUIDE_CODE}`);
    await page.goto(`${server.url}departments`);
    await Promise.all([page.waitForLoadState('load'), page.locator('a[data-pref=care]').click()]);
    await Promise.all([page.waitForLoadState('load'), page.locator('a[data-pref=lang]').click()]);
    await page.goto(server.url);

    assert.ok(requested.length >= 7, `saw the page requests (${requested.length})`);
    const foreign = requested.filter((u) => !u.startsWith(`${server.origin}/`));
    assert.deepEqual(foreign, [], 'every request goes to the server itself');
    assert.ok(
      requested.some((u) => u.includes('/static/app.css')),
      'the stylesheet is loaded from the server',
    );
    assert.deepEqual(consoleErrors, [], 'no console errors (e.g. CSP violations)');
  });
});

test('the home page fits a 360 px screen without sideways scrolling; its screenshot is saved to docs/screenshot-home.png', { timeout: TEST_TIMEOUT }, async () => {
  await withPage({}, async (page) => {
    await page.goto(server.url);
    await page.evaluate(() => document.fonts.ready);
    const widths = await page.evaluate(() => ({
      client: document.documentElement.clientWidth,
      scroll: document.documentElement.scrollWidth,
    }));
    assert.equal(widths.client, MOBILE_VIEWPORT.width);
    assert.ok(widths.scroll <= widths.client, `no horizontal overflow (scrollWidth ${widths.scroll})`);

    const file = path.join(repoRoot, 'docs', 'screenshot-home.png');
    await mkdir(path.dirname(file), { recursive: true });
    await page.screenshot({ path: file, fullPage: false });
    const { size } = await stat(file);
    assert.ok(size > 10_000, `the screenshot has content (${size} bytes)`);
  });
});
