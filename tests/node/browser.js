'use strict';
/*
 * ali-oss's *browser* build (dist/aliyun-oss-sdk.js, the one the VOD JS SDK bundles) in a
 * simulated browser page (lib/browser-env.js: XHR with CORS preflights, forbidden
 * headers and exposed-header filtering): put a Buffer, head, get, then a multipartUpload
 * with a progress callback and checkpoints, as the VOD SDK drives it.
 *
 * The endpoint comes from OSS_ENDPOINT unchanged (an UploadAddress Endpoint, say) or,
 * with --endpoint, from argv; the client is built as the VOD SDK builds it:
 * {accessKeyId, accessKeySecret, stsToken, endpoint, bucket, secure}.
 *
 * argv: --key KEY [--size N] [--endpoint URL] [--page-origin URL] [--clock-skew-seconds S]
 *       [--notification VALUE]  the x-oss-notification header the VOD SDK sends at
 *                               Initiate/Complete (base64 of its paramData, or empty)
 * Prints one JSON line (see lib/common.js) with each step's outcome and the network log.
 */
const crypto = require('crypto');
const { describeError, env, md5Hex, pickHeaders, run } = require('./lib/common');
const { loadBrowserOSS, log } = require('./lib/browser-env');

async function step(fn) {
  try {
    return Object.assign({ ok: true }, await fn());
  } catch (err) {
    return { ok: false, error: describeError(err) };
  }
}

async function main(args) {
  const key = args.key;
  if (!key) throw new Error('--key is required');
  const size = Number(args.size || 5 * 102400 + 4321);
  const endpoint = args.endpoint || env('OSS_ENDPOINT');
  const endpointHost = new URL(endpoint).hostname;
  if (!['127.0.0.1', 'localhost'].includes(endpointHost)) throw new Error(`not loopback: ${endpoint}`);
  const OSS = loadBrowserOSS(
    args['page-origin'] || 'http://localhost:8080',
    Number(args['clock-skew-seconds'] || 0)
  );
  const options = {
    accessKeyId: env('OSS_ACCESS_KEY_ID'),
    accessKeySecret: env('OSS_ACCESS_KEY_SECRET'),
    endpoint,
    bucket: env('OSS_BUCKET'),
    secure: false,
    timeout: 20000,
  };
  if (process.env.OSS_STS_TOKEN) options.stsToken = process.env.OSS_STS_TOKEN;
  const client = new OSS(options);

  const small = Buffer.from('hello from the browser build\n');
  const out = { key, endpoint, size };
  out.put = await step(async () => pickHeaders((await client.put(`${key}.txt`, small)).res));
  out.head = await step(async () => pickHeaders((await client.head(`${key}.txt`)).res));
  out.get = await step(async () => {
    const r = await client.get(`${key}.txt`);
    return { matches: Buffer.compare(Buffer.from(r.content), small) === 0 };
  });

  const data = crypto.createHash('sha256').update(key).digest();
  const big = Buffer.alloc(size);
  for (let i = 0; i < size; i += data.length) data.copy(big, i);
  const progress = [];
  out.multipart = await step(async () => {
    const headers = {};
    if (args.notification !== undefined) headers['x-oss-notification'] = String(args.notification === true ? '' : args.notification);
    const r = await client.multipartUpload(key, big, {
      headers,
      partSize: 102400,
      parallel: 5,
      progress: async (p, checkpoint) => {
        progress.push({ p, doneParts: checkpoint ? checkpoint.doneParts.length : null });
      },
    });
    const got = await client.get(key);
    return Object.assign(pickHeaders(r.res), {
      md5: md5Hex(big),
      downloaded: md5Hex(Buffer.from(got.content)),
    });
  });
  out.progress = progress;
  out.network = log;
  return out;
}

run(main);
