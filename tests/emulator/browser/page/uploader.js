'use strict';
/*
 * The OSS half of the VOD JS upload SDK 1.5.x, as a page script over ali-oss's browser
 * build (window.OSS). tests/node/chromium.js calls window.vodrefPage.upload(args) through
 * playwright-core; the answer is plain JSON.
 *
 * What the SDK does with what the app hands it (setUploadAuthAndAddress /
 * resumeUploadWithAuth), and so what this does:
 * - UploadAuth and UploadAddress arrive as base64 JSON: decoded in the page;
 * - the client is new OSS({accessKeyId, accessKeySecret, stsToken, endpoint, bucket,
 *   secure}) with the UploadAddress Endpoint unchanged (http://localhost:PORT or
 *   http://127.0.0.1:PORT, whichever address the app called VOD at);
 * - multipartUpload(FileName, file, {partSize, parallel, headers: {x-oss-notification:
 *   base64(paramData)}, checkpoint, progress}); ali-oss sends those headers on Initiate,
 *   every UploadPart and Complete;
 * - every checkpoint from progress is saved to localStorage (without the File), so a
 *   reload can resume it: the saved checkpoint gets the (re-selected) File back, as the
 *   SDK does; after a successful upload the saved checkpoint is removed.
 *
 * args of upload():
 *   uploadAuth, uploadAddress  base64 strings from CreateUploadVideo / RefreshUploadVideo
 *   seed, size, fileName       the File: `size` bytes of xorshift32(seed) (see generate();
 *                              the Python side regenerates the same bytes to compare)
 *   partSize, parallel         default 102400 and 5
 *   notification               value of x-oss-notification (omitted when null)
 *   cancelAfter                client.cancel() once that many parts are done
 *   resume                     'stored': resume from the localStorage checkpoint
 * Answer: {ok, cancelled, error, resumedFrom, events, checkpoint, complete, storedAfter}.
 */
(function () {
  const STORE_PREFIX = 'vodref-checkpoint:';

  function decode(base64) {
    return JSON.parse(atob(base64));
  }

  /** size bytes of a xorshift32 stream, little-endian words: cheap and reproducible. */
  function generate(seed, size) {
    const out = new Uint8Array(size);
    let x = seed >>> 0 || 1;
    for (let i = 0; i < size; i += 4) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      x >>>= 0;
      for (let j = 0; j < 4 && i + j < size; j++) out[i + j] = (x >>> (8 * j)) & 0xff;
    }
    return out;
  }

  function snapshot(checkpoint) {
    // ali-oss mutates its checkpoint later and holds the File in it: copy the JSON part.
    return {
      name: checkpoint.name,
      fileSize: checkpoint.fileSize,
      partSize: checkpoint.partSize,
      uploadId: checkpoint.uploadId,
      doneParts: checkpoint.doneParts.map(p => ({ number: p.number, etag: p.etag })),
    };
  }

  function describeError(err) {
    if (!err || typeof err !== 'object') return { name: 'NonObjectError', message: String(err) };
    return {
      name: err.name,
      code: err.code,
      status: err.status,
      message: err.message,
      requestId: err.requestId,
      ecCode: err.ecCode,
      partNum: err.partNum,
    };
  }

  function pickHeaders(res) {
    const headers = (res && res.headers) || {};
    return {
      status: res ? res.status : undefined,
      etag: headers.etag,
      requestId: headers['x-oss-request-id'],
      crc64: headers['x-oss-hash-crc64ecma'],
      contentType: headers['content-type'],
    };
  }

  async function upload(args) {
    const auth = decode(args.uploadAuth);
    const address = decode(args.uploadAddress);
    const file = new File([generate(args.seed, args.size)], args.fileName, { type: 'video/mp4' });
    const client = new OSS({
      accessKeyId: auth.AccessKeyId,
      accessKeySecret: auth.AccessKeySecret,
      stsToken: auth.SecurityToken,
      endpoint: address.Endpoint,
      bucket: address.Bucket,
      secure: address.Endpoint.startsWith('https:'),
      timeout: 20000,
    });
    const storeKey = STORE_PREFIX + address.FileName;
    const out = { ok: true, cancelled: false, key: address.FileName, events: [] };
    let cancelIssued = false;
    const options = {
      partSize: args.partSize || 102400,
      parallel: args.parallel || 5,
      headers: {},
      progress: async (p, checkpoint, res) => {
        const entry = { p, requestId: res && res.headers ? res.headers['x-oss-request-id'] : undefined };
        if (checkpoint) {
          const saved = snapshot(checkpoint);
          entry.uploadId = saved.uploadId;
          entry.doneParts = saved.doneParts.map(part => part.number);
          entry.etagsReadable = saved.doneParts.every(part => typeof part.etag === 'string' && part.etag.length > 2);
          localStorage.setItem(storeKey, JSON.stringify(saved));
          out.checkpoint = saved;
          if (args.cancelAfter && saved.doneParts.length >= args.cancelAfter && !cancelIssued) {
            cancelIssued = true;
            client.cancel();
          }
        }
        out.events.push(entry);
      },
    };
    if (args.notification !== undefined && args.notification !== null) {
      options.headers['x-oss-notification'] = args.notification;
    }
    if (args.resume === 'stored') {
      const stored = localStorage.getItem(storeKey);
      if (!stored) throw new Error(`no checkpoint stored under ${storeKey}`);
      options.checkpoint = JSON.parse(stored);
      out.resumedFrom = {
        uploadId: options.checkpoint.uploadId,
        doneParts: options.checkpoint.doneParts.map(part => part.number),
      };
    }
    try {
      const result = await client.multipartUpload(address.FileName, file, options);
      out.complete = pickHeaders(result.res);
      localStorage.removeItem(storeKey);
    } catch (err) {
      out.ok = false;
      if (err && err.name === 'cancel') {
        out.cancelled = true;
      } else {
        out.error = describeError(err);
      }
    }
    out.storedAfter = localStorage.getItem(storeKey) ? JSON.parse(localStorage.getItem(storeKey)) : null;
    return out;
  }

  /**
   * Single ali-oss calls with explicit client options, each reported on its own:
   * {options: {accessKeyId, accessKeySecret, stsToken?, endpoint, bucket, ...},
   *  key, ops: ['put', 'head', 'getObjectMeta', 'get', 'list', 'delete', 'headMissing']}
   * Answer: {op: {ok, ...headers} | {ok: false, error}}.
   */
  async function probe(args) {
    const client = new OSS(Object.assign({ secure: false, timeout: 20000 }, args.options));
    const body = new TextEncoder().encode('hello from chromium\n');
    const out = {};
    const calls = {
      put: async () => pickHeaders((await client.put(args.key, new Blob([body], { type: 'text/plain' }))).res),
      head: async () => {
        const r = await client.head(args.key);
        return Object.assign(pickHeaders(r.res), { meta: r.meta });
      },
      getObjectMeta: async () => pickHeaders((await client.getObjectMeta(args.key)).res),
      get: async () => {
        const r = await client.get(args.key);
        const got = new Uint8Array(r.content);
        return Object.assign(pickHeaders(r.res), {
          matches: got.length === body.length && got.every((b, i) => b === body[i]),
        });
      },
      list: async () => {
        const r = await client.list({ prefix: args.key, 'max-keys': 10 });
        return Object.assign(pickHeaders(r.res), { names: (r.objects || []).map(o => o.name) });
      },
      delete: async () => pickHeaders((await client.delete(args.key)).res),
      headMissing: async () => pickHeaders((await client.head(`${args.key}.missing`)).res),
    };
    for (const op of args.ops) {
      try {
        out[op] = Object.assign({ ok: true }, await calls[op]());
      } catch (err) {
        out[op] = { ok: false, error: describeError(err) };
      }
    }
    return out;
  }

  /** What the page can say about itself without the network. */
  function about() {
    return {
      origin: location.origin,
      ossVersion: typeof OSS === 'function' && OSS.version ? OSS.version : null,
      hasOSS: typeof OSS === 'function',
      storedKeys: Object.keys(localStorage).filter(k => k.startsWith(STORE_PREFIX)),
    };
  }

  window.vodrefPage = { ready: typeof OSS === 'function', upload, probe, about, generate: (a) => Array.from(generate(a.seed, a.size)) };
})();
