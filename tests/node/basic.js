'use strict';
/*
 * Small-object round trip through ali-oss: put (Buffer, with Content-MD5 and user
 * metadata), head, getObjectMeta, get, putStream without a length (chunked body),
 * delete, then head and get of the deleted key (NoSuchKeyError).
 *
 * argv: --key KEY [--stream-key KEY]
 * Prints one JSON line (see lib/common.js).
 */
const { Readable } = require('stream');
const { makeClient, md5Hex, pickHeaders, run, describeError } = require('./lib/common');

async function main(args) {
  const key = args.key || 'node/basic/hello world+1.txt';
  const streamKey = args['stream-key'] || 'node/basic/streamed.bin';
  const client = makeClient();
  const body = Buffer.from('hello from ali-oss in node\n'.repeat(37));

  const put = await client.put(key, body, { meta: { origin: 'node' } });
  const head = await client.head(key);
  const meta = await client.getObjectMeta(key);
  const got = await client.get(key);

  // putStream without contentLength: ali-oss sends Transfer-Encoding: chunked.
  const chunks = [Buffer.alloc(70000, 1), Buffer.alloc(50001, 2), Buffer.from('tail')];
  const streamed = await client.putStream(streamKey, Readable.from(chunks));
  const streamedBack = await client.get(streamKey);
  const streamedExpected = Buffer.concat(chunks);

  await client.delete(key);
  let headAfterDelete = null;
  try {
    await client.head(key);
  } catch (err) {
    headAfterDelete = describeError(err);
  }
  let getAfterDelete = null;
  try {
    await client.get(key);
  } catch (err) {
    getAfterDelete = describeError(err);
  }

  return {
    key,
    size: body.length,
    md5: md5Hex(body),
    put: Object.assign({ status: put.res.status }, pickHeaders(put.res)),
    head: Object.assign({ status: head.status, meta: head.meta }, pickHeaders(head.res)),
    objectMeta: Object.assign({ status: meta.status }, pickHeaders(meta.res)),
    get: Object.assign(
      { status: got.res.status, md5: md5Hex(got.content), matches: Buffer.compare(got.content, body) === 0 },
      pickHeaders(got.res)
    ),
    streamed: {
      key: streamKey,
      status: streamed.res.status,
      size: streamedExpected.length,
      md5: md5Hex(streamedExpected),
      etag: streamed.res.headers.etag,
      crc64: streamed.res.headers['x-oss-hash-crc64ecma'],
      matches: Buffer.compare(streamedBack.content, streamedExpected) === 0,
    },
    headAfterDelete,
    getAfterDelete,
  };
}

run(main);
