"""The page the JS subject runs in: the user's SDK scripts plus the suite's driver.

The driver (:data:`DRIVER_JS`) is the application a web developer writes around
``AliyunUpload.Vod`` 1.5.x, as the SDK's documentation shows it: ``onUploadstarted`` asks
the AppServer (this suite, ``POST /app``) for CreateUploadVideo / RefreshUploadVideo /
CreateUploadImage and answers with ``setUploadAuthAndAddress``, or for an STS token and
answers with ``setSTSToken``; ``onUploadTokenExpired`` answers with
``resumeUploadWithAuth`` / ``resumeUploadWithSTSToken``. Every callback is posted to the
suite (``POST /event``) as it happens, so the trace survives a page reload, which is how a
crash is played (the SDK's checkpoints live in localStorage and survive it).

On the emulator the SDK's own VOD OpenAPI calls (STS mode), which it sends to
``https://vod.<region>.aliyuncs.com``, are routed to the emulator by rewriting the URL in
``XMLHttpRequest.open`` and ``fetch``: a browser cannot be pointed elsewhere for https.
"""

from __future__ import annotations

import html

__all__ = ["DRIVER_JS", "ROUTE_JS", "page_html"]


def page_html(scripts: list[str]) -> str:
    tags = "".join(f'<script src="/sdk/{html.escape(name)}"></script>' for name in scripts)
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        '<title>vodref conformance: JS subject</title><link rel="icon" href="data:,">'
        f'<script src="/route.js"></script>{tags}<script src="/driver.js"></script>'
        "</head><body><p>vodref conformance driver</p></body></html>"
    )


ROUTE_JS = r"""
'use strict';
(function () {
  // Loaded before the SDK: its VOD OpenAPI calls go to the emulator, not the cloud.
  const request = new XMLHttpRequest();
  request.open('GET', '/job', false);  // synchronous on purpose: before the SDK loads
  request.send();
  window.__vodrefJob = JSON.parse(request.responseText);
  if (window.__vodrefJob.wait) {  // no scenario yet (the request long-polled): ask again
    setTimeout(() => location.reload(), 50);
    return;
  }
  if (window.__vodrefJob.phase === 0) localStorage.clear();  // each scenario starts clean
  const target = window.__vodrefJob.vodEndpoint;
  if (!target) return;
  const pattern = /^https?:\/\/vod\.[a-z0-9-]+\.aliyuncs\.com\/?/i;
  const reroute = url => (typeof url === 'string' && pattern.test(url)) ?
    url.replace(pattern, target.replace(/\/$/, '') + '/') : url;
  const open = XMLHttpRequest.prototype.open;
  XMLHttpRequest.prototype.open = function (method, url, ...rest) {
    return open.call(this, method, reroute(String(url)), ...rest);
  };
  const originalFetch = window.fetch.bind(window);
  window.fetch = (input, init) =>
    originalFetch(typeof input === 'string' ? reroute(input) : input, init);
})();
"""

DRIVER_JS = r"""
'use strict';
(async function () {
  const job = window.__vodrefJob;
  if (job.wait) return;
  let seq = job.phase * 1000000;
  // Every post names its scenario: a late one from an earlier page is dropped.
  const post = (path, body) => fetch(path, {
    method: 'POST', headers: {'Content-Type': 'application/json'},
    body: JSON.stringify(Object.assign({token: job.token}, body)),
  }).then(r => r.json());
  const byUid = new Map();
  const labelOf = info => {
    for (const [label, file] of byUid) if (info && info.file === file) return label;
    return info && info.file ? info.file.name : null;
  };
  const ev = (name, info, detail) => post('/event', {seq: seq++, name, file: info === null ? null :
    labelOf(info), detail: detail || {}});
  const app = (op, args) => post('/app', Object.assign({op}, args || {}));
  const specOf = label => job.files.find(f => f.label === label);
  let interruptDone = job.phase > 0;
  let finishing = false;
  const deleted = new Set();

  const uploader = new AliyunUpload.Vod({
    userId: '1', region: job.region, partSize: job.partSize, parallel: job.parallel,
    retryCount: 3, retryDuration: job.retryDelay, localCheckpoint: true,
    addFileSuccess: info => { ev('added', info); },
    onUploadstarted: async info => {
      const label = labelOf(info);
      ev('started', info, {resumed: Boolean(info.videoId)});
      const spec = specOf(label);
      try {
        if (job.mode === 'sts') {
          const s = await app('sts');
          uploader.setSTSToken(info, s.AccessKeyId, s.AccessKeySecret, s.SecurityToken);
        } else {
          let g;
          if (info.videoId) g = await app('refresh', {videoId: info.videoId});
          else if (spec.isImage) {
            g = await app('image', {title: spec.title, ext: spec.name.split('.').pop()});
          }
          else g = await app('create', {title: spec.title, fileName: spec.name, size: spec.size});
          uploader.setUploadAuthAndAddress(info, g.UploadAuth, g.UploadAddress, g.VideoId);
        }
      } catch (err) { ev('app-error', info, {message: String(err)}); }
    },
    onUploadSucceed: info => { ev('succeeded', info); },
    onUploadFailed: (info, code, message) => { ev('failed', info, {code}); },
    onUploadProgress: (info, total, loaded) => {
      ev('progress', info, {ratio: Math.round(loaded * 10000) / 10000});
      const it = job.interrupt;
      if (!it || interruptDone || labelOf(info) !== it.file) return;
      const parts = Math.ceil(specOf(it.file).size / job.partSize);
      if (Math.round(loaded * parts) >= it.afterParts) {
        interruptDone = true;
        setTimeout(() => interrupt(it), 0);
      }
    },
    onUploadTokenExpired: async info => {
      ev('token-expired', info);
      try {
        if (job.mode === 'sts') {
          const s = await app('sts');
          uploader.resumeUploadWithSTSToken(s.AccessKeyId, s.AccessKeySecret, s.SecurityToken);
        } else {
          const g = await app('refresh', {videoId: info.videoId});
          uploader.resumeUploadWithAuth(g.UploadAuth);
        }
      } catch (err) { ev('app-error', info, {message: String(err)}); }
    },
    onUploadCanceled: (info, err) => {
      ev('canceled', info, {reason: (err && err.name) || 'cancel'});
    },
    onUploadEnd: () => { ev('ended', null); },
  });

  const indexOf = label => uploader.listFiles().findIndex(i => labelOf(i) === label);
  async function interrupt(it) {
    await post('/event', {seq: seq++, name: 'action', file: it.file, detail: {do: it.kind}});
    const index = indexOf(it.file);
    if (it.kind === 'stop' || it.kind === 'halt') {
      uploader.stopUpload();
      await post('/interrupt', {});
      if (it.kind === 'stop') uploader.startUpload();
    } else if (it.kind === 'cancel') {
      uploader.cancelFile(index);
      await post('/interrupt', {});
      uploader.resumeFile(index);
      uploader.startUpload();
    } else if (it.kind === 'delete') {
      uploader.deleteFile(index);
      deleted.add(it.file);
      await post('/interrupt', {});
    } else if (it.kind === 'crash') {
      await post('/crash', {});  // the suite acts, then this page is reloaded: a new process
      location.reload();
      await new Promise(() => {});
    } else {
      await post('/interrupt', {});
    }
  }

  const files = {};
  for (const spec of job.files) {
    let data;
    if (spec.sparse) {  // zeros, built here: a gigabyte need not cross the socket
      const chunk = new Uint8Array(1024 * 1024);
      data = new Blob(Array.from({length: Math.floor(spec.size / chunk.length)}, () => chunk)
        .concat([new Uint8Array(spec.size % chunk.length)]));
    } else {
      data = await (await fetch('/file/' + encodeURIComponent(spec.label))).arrayBuffer();
    }
    const file = new File([data], spec.name, {type: spec.isImage ? 'image/png' : 'video/mp4',
      lastModified: job.lastModified});
    files[spec.label] = file;
    byUid.set(spec.label, file);
    uploader.addFile(file, null, null, null, JSON.stringify({Vod: {Title: spec.title}}));
  }
  ev('action', null, {do: job.phase ? 'restart' : 'start'});
  uploader.startUpload();

  const FINAL = new Set(['Success', 'Failure', 'Canceled']);
  const halted = () => job.interrupt && job.interrupt.kind === 'halt' && interruptDone;
  const timer = setInterval(async () => {
    if (finishing) return;
    const list = uploader.listFiles();
    const settled = list.every(i => FINAL.has(i.state) || (halted() && i.state === 'Stoped'));
    const interruptPending = job.interrupt && !interruptDone;
    if (!settled || interruptPending) return;
    finishing = true;
    await new Promise(r => setTimeout(r, 300));  // late callbacks
    clearInterval(timer);
    const outcome = {};
    for (const info of uploader.listFiles()) {
      outcome[labelOf(info)] = {state: info.state, videoId: info.videoId || null};
    }
    for (const label of deleted) outcome[label] = {state: 'Deleted', videoId: null};
    await post('/done', {files: outcome});
    location.reload();  // and wait for the next scenario
  }, 100);
})().catch(err => fetch('/fatal', {method: 'POST', body: JSON.stringify({
  token: window.__vodrefJob && window.__vodrefJob.token, error: String(err && err.stack || err),
})}));
"""
