'use strict';
/*
 * A real headless Chromium (Debian's /usr/bin/chromium; browsers cannot be downloaded
 * here) driven by playwright-core, for tests/emulator/browser/. Where browser.js
 * *simulates* a browser's XHR and CORS in Node, this one runs ali-oss's browser build in
 * the real thing: preflights, exposed headers, forbidden headers, File/Blob slicing and
 * ArrayBuffer bodies are all Chromium's.
 *
 * argv: --page URL         the test page (tests/emulator/browser/page/index.html, served
 *                          by pytest from a loopback origin other than the emulator's)
 *       [--chromium PATH]  default /usr/bin/chromium (or $VODREF_CHROMIUM)
 *       [--timeout-ms N]   per command, default 45000
 *
 * A session, one JSON line per message on stdout:
 *   started: {"ok": true, "event": "ready", "browserVersion": ..., "userAgent": ...}
 *            or {"ok": false, "event": "ready", "error": {...}} (then exit 0)
 *   then for each JSON line read on stdin, {"id": ..., "op": ...}, one answer
 *   {"id", "ok", "result" | "error", "console": [...], "pageErrors": [...], "network": [...]}:
 *     {"op": "call", "fn": NAME, "args": {...}}  window.vodrefPage[NAME](args) in the page
 *     {"op": "screenshot", "path": FILE}          write a full-page PNG of the page to FILE
 *     {"op": "reload"}                            reload the page (a new JS context; only
 *                                                 localStorage survives, as for a user)
 *     {"op": "close"}                             close the browser, answer, exit 0
 * `console` holds the page's console messages (Chromium logs CORS refusals there),
 * `network` what the page requested: method, url, status (of each answer) or the
 * failure text (a request that got none, e.g. refused by CORS). Both are
 * drained with every answer. End of stdin closes the browser too.
 *
 * Nothing leaves the machine: the page and the emulator are on loopback, Chromium runs
 * without background networking, component updates, sync or a proxy, and every name
 * but localhost / *.localhost fails to resolve (--host-resolver-rules).
 */
const fs = require('fs');
const os = require('os');
const path = require('path');
const readline = require('readline');
const { chromium } = require('playwright-core');
const { describeError, emit, parseArgs } = require('./lib/common');

const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-proxy-server',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE localhost, EXCLUDE *.localhost, EXCLUDE 127.0.0.1',
];

function loopbackUrl(raw) {
  const url = new URL(raw);
  const host = url.hostname;
  if (host !== '127.0.0.1' && host !== 'localhost' && !host.endsWith('.localhost')) {
    throw new Error(`not a loopback URL: ${raw}`);
  }
  return url;
}

function shortUrl(raw) {
  try {
    const url = new URL(raw);
    // The query carries signatures and upload ids: keep the operation's sub-resources only.
    const names = [...url.searchParams.keys()].filter(k => !/signature|accesskeyid|security-token|expires/i.test(k));
    return `${url.host}${url.pathname}${names.length ? `?${names.join('&')}` : ''}`;
  } catch (err) {
    return String(raw);
  }
}

async function main(args) {
  if (!args.page) throw new Error('--page is required');
  const pageUrl = loopbackUrl(args.page).href;
  const executablePath = args.chromium || process.env.VODREF_CHROMIUM || '/usr/bin/chromium';
  const timeoutMs = Number(args['timeout-ms'] || 45000);
  const userDataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'vodref-chromium-'));
  const consoleLog = [];
  const pageErrors = [];
  const network = [];
  let context = null;

  const cleanup = async () => {
    if (context) {
      const closing = context;
      context = null;
      await closing.close().catch(() => {});
    }
    fs.rmSync(userDataDir, { recursive: true, force: true });
  };

  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath,
      headless: true,
      args: CHROMIUM_ARGS,
      timeout: timeoutMs,
    });
    const page = context.pages()[0] || (await context.newPage());
    page.setDefaultTimeout(timeoutMs);
    page.on('console', msg => consoleLog.push({ type: msg.type(), text: msg.text() }));
    page.on('pageerror', err => pageErrors.push(String(err && err.stack ? err.stack : err)));
    page.on('response', res => {
      network.push({ method: res.request().method(), url: shortUrl(res.url()), status: res.status() });
    });
    page.on('requestfailed', req => {
      const failure = req.failure();
      network.push({ method: req.method(), url: shortUrl(req.url()), failure: failure ? failure.errorText : 'failed' });
    });

    const open = async () => {
      await page.goto(pageUrl, { waitUntil: 'load' });
      await page.waitForFunction(() => window.vodrefPage && window.vodrefPage.ready === true);
    };
    await open();
    emit({
      ok: true,
      event: 'ready',
      browserVersion: context.browser() ? context.browser().version() : null,
      userAgent: await page.evaluate(() => navigator.userAgent),
      origin: await page.evaluate(() => location.origin),
      secureContext: await page.evaluate(() => window.isSecureContext),
    });

    // Console and network events reach Node after the evaluate's answer may have: let
    // them land before draining, so each answer carries its own call's events.
    const settle = () => new Promise(resolve => setTimeout(resolve, 50));
    const drain = () => ({
      console: consoleLog.splice(0),
      pageErrors: pageErrors.splice(0),
      network: network.splice(0),
    });

    const lines = readline.createInterface({ input: process.stdin, terminal: false });
    for await (const line of lines) {
      if (!line.trim()) continue;
      let command;
      try {
        command = JSON.parse(line);
      } catch (err) {
        emit(Object.assign({ id: null, ok: false, error: describeError(err) }, drain()));
        continue;
      }
      const answer = { id: command.id === undefined ? null : command.id };
      try {
        if (command.op === 'call') {
          answer.result = await page.evaluate(
            ([fn, fnArgs]) => window.vodrefPage[fn](fnArgs),
            [command.fn, command.args || {}]
          );
          await settle();
        } else if (command.op === 'screenshot') {
          await page.screenshot({ path: command.path, fullPage: true });
          answer.result = { path: command.path };
        } else if (command.op === 'reload') {
          await open();
          answer.result = { reloaded: true };
        } else if (command.op === 'close') {
          await cleanup();
          emit(Object.assign(answer, { ok: true, result: { closed: true } }, drain()));
          return;
        } else {
          throw new Error(`unknown op ${command.op}`);
        }
        answer.ok = true;
      } catch (err) {
        answer.ok = false;
        answer.error = describeError(err);
      }
      emit(Object.assign(answer, drain()));
    }
  } catch (err) {
    emit({ ok: false, event: 'ready', error: describeError(err), pageErrors, console: consoleLog });
  } finally {
    await cleanup();
  }
}

main(parseArgs(process.argv.slice(2)))
  .then(() => process.exit(0))
  .catch(err => {
    emit({ ok: false, error: describeError(err) });
    process.exit(0);
  });
