'use strict';
/*
 * Opens the conformance HTML report in headless Chromium (playwright-core, Debian's
 * /usr/bin/chromium) and prints one JSON line describing its DOM, for
 * tests/conformance/test_conformance_html.py (CONF-REP-003).
 *
 * argv: PAGE_URL CHROMIUM_PATH   (the page is served from 127.0.0.1 by the test)
 * Output: {ok, title, rows: [{subject, scenario, status}], sections: [{subject, scenario,
 *          status, checks, traceItems, requestRows}], comparison, text, requests,
 *          pageErrors} or {ok: false, error}.
 * Every request the page makes is recorded: a self-contained report makes exactly one.
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const { chromium } = require('playwright-core');

async function main() {
  const [pageUrl, executablePath] = process.argv.slice(2);
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vodref-report-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath,
    headless: true,
    args: [
      '--headless', '--no-sandbox', '--disable-gpu', '--no-first-run',
      '--disable-background-networking', '--disable-component-update', '--disable-sync',
      '--no-proxy-server',
      '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE 127.0.0.1',
    ],
  });
  try {
    const page = context.pages()[0] || (await context.newPage());
    const requests = [];
    const pageErrors = [];
    page.on('request', req => requests.push(req.url()));
    page.on('pageerror', err => pageErrors.push(String(err)));
    await page.goto(pageUrl, { waitUntil: 'load' });
    const dom = await page.evaluate(() => ({
      title: document.title,
      rows: [...document.querySelectorAll('table.summary tr[data-scenario]')].map(tr => ({
        subject: tr.closest('table').dataset.subject,
        scenario: tr.dataset.scenario,
        status: tr.dataset.status,
        link: tr.querySelector('a').getAttribute('href'),
      })),
      sections: [...document.querySelectorAll('section.scenario')].map(s => ({
        id: s.id,
        subject: s.dataset.subject,
        scenario: s.dataset.scenario,
        status: s.dataset.status,
        checks: [...s.querySelectorAll('ul.checks li')].map(li => li.dataset.status),
        traceItems: s.querySelectorAll('ol.trace li').length,
        requestRows: Math.max(0, s.querySelectorAll('table.requests tr').length - 1),
        server: Object.fromEntries([...s.querySelectorAll('table.server td')].map(td => [td.dataset.name, Number(td.textContent)])),
        operations: [...s.querySelectorAll('table.requests tr td:nth-child(4)')].map(td => td.textContent),
      })),
      comparison: (document.querySelector('pre.comparison') || {}).textContent || null,
      text: document.body.innerText,
    }));
    console.log(JSON.stringify({ ok: true, requests, pageErrors, ...dom }));
  } finally {
    await context.close();
    fs.rmSync(userDataDir, { recursive: true, force: true });
  }
}

main().catch(err => {
  console.log(JSON.stringify({ ok: false, error: String(err && err.stack ? err.stack : err) }));
  process.exit(0);
});
