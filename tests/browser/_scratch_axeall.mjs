import { startServer, launchBrowser, newMobileContext, runAxe, formatViolations } from './helpers.mjs';
const server = await startServer();
const browser = await launchBrowser();
const simulate = process.argv[2] === 'fix';
const paths = ['', 'search?q=%E8%90%A5%E4%B8%9A%E6%89%A7%E7%85%A7', 'search?event=birth', 'search?q=zzzzqqq', 'items/1305340101001', 'departments', 'townships/130534101000', 'api/docs', 'nope'];
const dep = await (await fetch(server.url + 'departments')).text();
const m = dep.match(/href="(\/departments\/[^"]+)"/); if (m) paths.push(m[1].slice(1));
for (const lang of ['zh-CN', 'en']) for (const care of [false, true]) for (const p of paths) {
  const ctx = await newMobileContext(browser, { bypassCSP: true });
  await ctx.addCookies([{ name: 'tb_lang', value: lang, url: server.origin }, { name: 'tb_care', value: care ? '1' : '0', url: server.origin }]);
  const page = await ctx.newPage();
  await page.goto(server.url + p);
  if (simulate) await page.evaluate(() => {
    const st = document.createElement('style');
    st.textContent = '.vh{position:absolute!important;width:1px;height:1px;padding:0;margin:-1px;overflow:hidden;clip:rect(0 0 0 0);clip-path:inset(50%);white-space:nowrap;border:0}.prefs a{position:relative}';
    document.head.appendChild(st);
    const en = document.documentElement.lang === 'en';
    for (const a of document.querySelectorAll('a[data-pref]')) {
      const vis = a.textContent.trim();
      let hint;
      if (a.dataset.pref === 'lang') hint = en ? ' (switch to Chinese)' : '（切换到英文界面）';
      else if (a.href.includes('set=on')) hint = en ? ' (turn on large text and large buttons)' : '（开启：大字体、大按钮）';
      else hint = en ? ' (turn off large text)' : '（关闭关怀模式）';
      const l = a.getAttribute('lang');
      a.removeAttribute('aria-label'); a.removeAttribute('lang');
      a.innerHTML = '';
      const s = document.createElement('span'); s.textContent = vis; if (l) s.lang = l; a.appendChild(s);
      const h = document.createElement('span'); h.className = 'vh'; h.textContent = hint; a.appendChild(h);
    }
  });
  const r = await runAxe(page);
  const sw = await page.evaluate(() => document.documentElement.scrollWidth);
  console.log(`${lang} care=${care} /${p}: ${r.violations.length} violations, incomplete=${r.incomplete.map(i=>i.id).join(',')} scrollWidth=${sw}`);
  if (r.violations.length) console.log(formatViolations(r.violations));
  await ctx.close();
}
await browser.close(); await server.stop();
