"""The dashboard at ``/_emulator/``: one plain HTML page and one script, no build step.

The page reads ``GET /_emulator/state`` once a second and renders it: the clock, buckets
and objects, open multipart uploads with their parts, videos and their status, temporary
credentials, installed faults and their hits, VOD callback deliveries and the request log.

Secrets never reach the page's DOM: the state document holds no secret, token or signature
(the request log's queries are redacted, EMU-VOD-029), and the script shortens every
AccessKeyId to its first characters before showing it. The script builds the DOM with
``textContent`` only (no HTML from data), and a Content-Security-Policy allows scripts from
the emulator alone, so an object key cannot inject markup.
"""

from __future__ import annotations

from emulator.http import Response

CSP = (
    "default-src 'none'; script-src 'self'; connect-src 'self'; "
    "style-src 'unsafe-inline'; img-src 'self'; base-uri 'none'; form-action 'none'"
)

PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>vodref emulator</title>
<style>
  body { font: 13px/1.4 system-ui, sans-serif; margin: 1em 2em; color: #222; }
  h1 { font-size: 18px; } h2 { font-size: 15px; margin-top: 1.4em; }
  table { border-collapse: collapse; margin: .3em 0; }
  th, td { border: 1px solid #ccc; padding: 2px 8px; text-align: left; }
  th { background: #f3f3f3; } td.num { text-align: right; }
  .empty { color: #888; font-style: italic; }
  #status { color: #666; }
</style>
</head>
<body>
<h1>vodref emulator</h1>
<p id="status">loading&hellip;</p>
<p>Clock: <span id="clock"></span></p>
<h2>Buckets and objects</h2><div id="objects"></div>
<h2>Open multipart uploads</h2><div id="uploads"></div>
<h2>Videos</h2><div id="videos"></div>
<h2>Temporary credentials</h2><div id="tokens"></div>
<h2>Faults</h2><div id="faults"></div>
<h2>Fault hits</h2><div id="hits"></div>
<h2>VOD callbacks</h2><div id="callbacks"></div>
<h2>Requests (latest first)</h2><div id="requests"></div>
<script src="/_emulator/dashboard.js"></script>
</body>
</html>
"""

SCRIPT = r"""'use strict';
(function () {
  const REFRESH_MS = 1000;
  let refreshes = 0;
  let waiters = [];

  // An AccessKeyId identifies a credential: show only enough to tell two apart.
  function redactKey(id) {
    const text = String(id || '');
    return text.length <= 6 ? '\u2026' : text.slice(0, 6) + '\u2026';
  }

  function table(id, headers, rows) {
    const holder = document.getElementById(id);
    holder.replaceChildren();
    if (!rows.length) {
      const empty = document.createElement('p');
      empty.className = 'empty';
      empty.textContent = 'none';
      holder.appendChild(empty);
      return;
    }
    const element = document.createElement('table');
    const head = element.insertRow();
    for (const name of headers) {
      const th = document.createElement('th');
      th.textContent = name;
      head.appendChild(th);
    }
    for (const row of rows) {
      const tr = element.insertRow();
      for (const value of row) {
        const td = tr.insertCell();
        td.textContent = value === null || value === undefined ? '' : String(value);
        if (typeof value === 'number') td.className = 'num';
      }
    }
    holder.appendChild(element);
  }

  function time(seconds) {
    return seconds ? new Date(seconds * 1000).toISOString().replace('.000Z', 'Z') : '';
  }

  function render(state) {
    document.getElementById('clock').textContent =
      state.clock.iso + (state.clock.frozen ? ' (frozen)' : '');
    const objects = [];
    for (const bucket of state.oss.buckets) {
      if (!bucket.objects.length) objects.push([bucket.name, '(empty)', '', '', '']);
      for (const object of bucket.objects) {
        objects.push([bucket.name, object.key, object.size, object.object_type, object.etag]);
      }
    }
    table('objects', ['bucket', 'key', 'size', 'type', 'ETag'], objects);
    table('uploads', ['bucket', 'key', 'upload id', 'parts', 'bytes'],
      state.oss.uploads.map(u => [u.bucket, u.key, u.upload_id.slice(0, 8) + '\u2026',
        u.parts.map(p => p.part_number).join(', '),
        u.parts.reduce((sum, p) => sum + p.size, 0)]));
    table('videos', ['video id', 'title', 'status', 'size', 'created'],
      state.vod.videos.map(v => [v.video_id, v.title, v.status, v.size, v.created_at]));
    table('tokens', ['AccessKeyId', 'kind', 'expires', 'state', 'note'],
      state.tokens.map(t => [redactKey(t.access_key_id), t.kind, t.expires_at_iso,
        t.revoked ? 'revoked' : (t.expired ? 'expired' : 'valid'), t.note]));
    table('faults', ['id', 'effect', 'seen', 'fired'],
      state.faults.installed.map(f => [f.id, f.effect.type, f.seen, f.fired]));
    table('hits', ['fault', 'effect', 'operation', 'key', 'part'],
      state.faults.hits.slice(-50).reverse()
        .map(h => [h.fault_id, h.effect, h.operation, h.key, h.part_number]));
    table('callbacks', ['event', 'media', 'status', 'attempts', 'url'],
      (state.callbacks || []).slice(-50).reverse().map(c => [c.event_type, c.media_id, c.status,
        c.attempts.map(a => a.http_status || a.error).join(', '), c.url]));
    table('requests', ['#', 'method', 'path', 'operation', 'status'],
      state.requests.slice(-50).reverse()
        .map(r => [r.seq, r.method, r.path, r.operation, r.status]));
  }

  async function refresh() {
    try {
      const answer = await fetch('/_emulator/state', { cache: 'no-store' });
      render(await answer.json());
      refreshes += 1;
      document.getElementById('status').textContent =
        'live: refreshed ' + refreshes + ' times, every ' + REFRESH_MS / 1000 + ' s';
      document.body.dataset.refreshes = String(refreshes);
      const ready = waiters;
      waiters = [];
      for (const resolve of ready) resolve();
    } catch (error) {
      document.getElementById('status').textContent = 'emulator unreachable: ' + error;
    }
  }

  // For the emulator's own browser test: read what the page shows (nothing else).
  window.vodrefPage = {
    ready: true,
    shown: function () {
      const sections = {};
      const ids = ['objects', 'uploads', 'videos', 'tokens', 'faults', 'hits', 'callbacks',
        'requests'];
      for (const id of ids) {
        sections[id] = [...document.querySelectorAll('#' + id + ' tr')].slice(1)
          .map(tr => [...tr.cells].map(td => td.textContent));
      }
      return { refreshes, clock: document.getElementById('clock').textContent, sections,
               text: document.body.innerText };
    },
    refreshNow: async function () { await refresh(); return window.vodrefPage.shown(); },
    // Resolves after the page's own timer has refreshed it (the live refresh).
    nextRefresh: function () {
      return new Promise(resolve => waiters.push(resolve)).then(() => window.vodrefPage.shown());
    },
  };

  refresh();
  setInterval(refresh, REFRESH_MS);
})();
"""

_PATHS = {"/_emulator/", "/_emulator/dashboard"}


def wants_dashboard(method: str, path: str) -> bool:
    return method == "GET" and (path in _PATHS or path == "/_emulator/dashboard.js")


def dashboard_response(path: str) -> Response:
    if path.endswith(".js"):
        body, content_type = SCRIPT.encode("utf-8"), "text/javascript; charset=utf-8"
    else:
        body, content_type = PAGE.encode("utf-8"), "text/html; charset=utf-8"
    return Response(
        status=200,
        headers=[
            ("Content-Type", content_type),
            ("Cache-Control", "no-store"),
            ("Content-Security-Policy", CSP),
            ("X-Content-Type-Options", "nosniff"),
        ],
        body=body,
    )
