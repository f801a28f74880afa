'use strict';
/*
 * Run a few operations with the configured credentials and report each outcome
 * separately, so the pytest side can assert the error name ali-oss derives from the
 * emulator's answer (SignatureDoesNotMatchError, InvalidAccessKeyIdError,
 * SecurityTokenExpiredError, AccessDeniedError, ...). The VOD JS SDK classifies
 * failures by exactly these names.
 *
 * argv: --key KEY [--multipart-file PATH] [--ops put,head,get,multipart]
 * Prints one JSON line: {"ok": true, "results": {op: {ok, error?, ...}}}.
 */
const { Readable } = require('stream');
const { makeClient, pickHeaders, run, describeError } = require('./lib/common');

async function attempt(fn) {
  try {
    const res = await fn();
    return Object.assign({ ok: true }, res ? pickHeaders(res) : {});
  } catch (err) {
    return { ok: false, error: describeError(err) };
  }
}

async function main(args) {
  const key = args.key;
  if (!key) throw new Error('--key is required');
  const ops = String(args.ops || 'put,head,get').split(',');
  const client = makeClient();
  const results = {};
  for (const op of ops) {
    if (op === 'put') {
      results.put = await attempt(async () => (await client.put(key, Buffer.from('probe body'))).res);
    } else if (op === 'putStream') {
      results.putStream = await attempt(
        async () => (await client.putStream(key, Readable.from([Buffer.from('probe stream')]))).res
      );
    } else if (op === 'head') {
      results.head = await attempt(async () => (await client.head(key)).res);
    } else if (op === 'get') {
      results.get = await attempt(async () => (await client.get(key)).res);
    } else if (op === 'delete') {
      results.delete = await attempt(async () => (await client.delete(key)).res);
    } else if (op === 'multipart') {
      if (!args['multipart-file']) throw new Error('--multipart-file is required for multipart');
      results.multipart = await attempt(
        async () =>
          (await client.multipartUpload(key, args['multipart-file'], { partSize: 102400, parallel: 5 })).res
      );
    } else {
      throw new Error(`unknown op ${op}`);
    }
  }
  return { key, results };
}

run(main);
