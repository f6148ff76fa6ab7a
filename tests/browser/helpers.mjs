// Shared set-up for the browser tests: a Tongban server with demo data on a
// throw-away data directory, and a headless Chromium driven by playwright-core.
//
// Environment:
//   TONGBAN_BIN    server binary (default: target/debug/tongban under the repo root)
//   CHROMIUM_PATH  Chromium executable (default: /usr/bin/chromium)

import { spawn } from 'node:child_process';
import { mkdtemp, mkdir, rm, readFile } from 'node:fs/promises';
import { existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createInterface } from 'node:readline';
import { chromium } from 'playwright-core';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Mobile first: the smallest common phone width. */
export const MOBILE_VIEWPORT = { width: 360, height: 740 };

const READY_LINE = /^Tongban is listening on (http:\/\/\S+\/)$/;
const START_TIMEOUT_MS = 60_000;

function serverBinary() {
  const bin = process.env.TONGBAN_BIN || 'target/debug/tongban';
  return path.isAbsolute(bin) ? bin : path.join(repoRoot, bin);
}

/**
 * Starts `tongban serve --demo` on a free loopback port with a fresh data dir.
 * Resolves once the ready line is printed and /readyz answers 200.
 * `settings` are extra TONGBAN_* variables for this server (e.g. { TONGBAN_TOTP_ROLES: '["supervisor"]' }).
 * Returns { url, origin, stop() }; `url` ends with a slash.
 */
export async function startServer(settings = {}) {
  const bin = serverBinary();
  if (!existsSync(bin)) {
    throw new Error(`server binary not found: ${bin} (build it, or set TONGBAN_BIN)`);
  }
  const workDir = await mkdtemp(path.join(tmpdir(), 'tongban-browser-'));
  const dataDir = path.join(workDir, 'data');
  await mkdir(dataDir);
  // Hermetic: the server reads TONGBAN_* variables and ./tongban.toml as settings (and
  // rejects unknown TONGBAN_* names such as our own TONGBAN_BIN), so it gets neither.
  const env = { NO_COLOR: '1' };
  for (const [k, v] of Object.entries(process.env)) {
    if (!k.startsWith('TONGBAN_')) env[k] = v;
  }
  Object.assign(env, settings);
  const child = spawn(bin, ['serve', '--demo', '--listen', '127.0.0.1:0', '--data-dir', dataDir], {
    cwd: workDir,
    stdio: ['ignore', 'pipe', 'pipe'],
    env,
  });
  // Never leave a server behind, even if the test process dies early.
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  let stderr = '';
  child.stderr.setEncoding('utf8');
  child.stderr.on('data', (chunk) => {
    stderr += chunk;
    if (stderr.length > 20_000) stderr = stderr.slice(-20_000);
  });
  const exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));

  const url = await new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout });
    const timer = setTimeout(() => {
      reject(new Error(`server printed no ready line within ${START_TIMEOUT_MS} ms\n${stderr}`));
    }, START_TIMEOUT_MS);
    lines.on('line', (line) => {
      const m = READY_LINE.exec(line.trim());
      if (m) {
        clearTimeout(timer);
        resolve(m[1]);
      }
    });
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    exited.then(({ code, signal }) => {
      clearTimeout(timer);
      reject(new Error(`server exited before it was ready (code ${code}, signal ${signal})\n${stderr}`));
    });
  });
  // Keep draining stdout so the server never blocks on a full pipe.
  child.stdout.resume();

  const origin = new URL(url).origin;
  await waitUntilReady(origin, () => stderr);

  let stopped = false;
  return {
    url,
    origin,
    get stderr() {
      return stderr;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      process.off('exit', killOnExit);
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timeout = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timeout);
      }
      await rm(workDir, { recursive: true, force: true });
    },
  };
}

async function waitUntilReady(origin, getStderr) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`${origin}/readyz`);
      if (res.ok) return;
      last = `HTTP ${res.status}`;
    } catch (err) {
      last = String(err);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`server at ${origin} never became ready (${last})\n${getStderr()}`);
}

/** Headless Chromium from the system; playwright gives each context its own profile. */
export async function launchBrowser() {
  const executablePath = process.env.CHROMIUM_PATH || '/usr/bin/chromium';
  if (!existsSync(executablePath)) {
    throw new Error(`Chromium not found at ${executablePath} (install it, or set CHROMIUM_PATH)`);
  }
  return chromium.launch({
    executablePath,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** A fresh phone-sized context (own cookies); extra Playwright context options may be given. */
export async function newMobileContext(browser, options = {}) {
  return browser.newContext({
    viewport: MOBILE_VIEWPORT,
    deviceScaleFactor: 2,
    isMobile: true,
    hasTouch: true,
    locale: 'zh-CN',
    ...options,
  });
}

let axeSource;
/** Injects axe-core into the page and runs it; resolves to the axe results. */
export async function runAxe(page) {
  axeSource ??= await readFile(path.join(repoRoot, 'node_modules', 'axe-core', 'axe.min.js'), 'utf8');
  await page.addScriptTag({ content: axeSource });
  return page.evaluate(() =>
    // eslint-disable-next-line no-undef
    axe.run(document, {
      runOnly: ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa', 'best-practice'],
    }),
  );
}

/** A readable list of axe violations: id, impact, help and the failing selectors. */
export function formatViolations(violations) {
  return violations
    .map((v) => {
      const targets = v.nodes
        .map((n) => `    - ${n.target.join(' ')}${n.failureSummary ? `\n      ${n.failureSummary.replace(/\n/g, '\n      ')}` : ''}`)
        .join('\n');
      return `  ${v.id} [${v.impact}] ${v.help}\n    ${v.helpUrl}\n${targets}`;
    })
    .join('\n');
}

/**
 * The kit the journey tests share: one demo server and one browser for the file (started
 * before its tests, stopped after), pages in mobile contexts, axe checks, and signing in as a
 * resident (once per file: codes are limited to one a minute per number) or a staff member.
 */
export function journeyKit({ before, after, assert }) {
  const RESIDENT = '13800000001';
  const PASSWORD = 'Qinghe-demo-2026';
  let server;
  let browser;
  let residentState;
  before(async () => {
    server = await startServer();
    browser = await launchBrowser();
  });
  after(async () => {
    await browser?.close();
    await server?.stop();
  });

  const url = (p) => new URL(p, server.url).href;

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

  return { RESIDENT, PASSWORD, url, withPage, noAxeViolations, clickAndWait, residentPage, staffSignIn };
}
