'use strict';
/*
 * AppendObject, CopyObject, UploadPartCopy and the object ACL through ali-oss: append
 * twice (the second at the returned nextAppendPosition) and once at a wrong position,
 * copy with and without replaced metadata, a multipart upload built from uploadPartCopy
 * ranges, and putACL/getACL.
 *
 * argv: --prefix PREFIX
 * Prints one JSON line (see lib/common.js).
 */
const { makeClient, md5Hex, run, describeError } = require('./lib/common');

async function main(args) {
  const prefix = args.prefix || 'node/extra';
  const client = makeClient();
  const bucket = client.options.bucket;

  const first = await client.append(`${prefix}/log.txt`, Buffer.from('hello '));
  const second = await client.append(`${prefix}/log.txt`, Buffer.from('world'), {
    position: first.nextAppendPosition,
  });
  let wrongPosition = null;
  try {
    await client.append(`${prefix}/log.txt`, Buffer.from('!'), { position: '1' });
  } catch (err) {
    wrongPosition = describeError(err);
  }
  const appended = await client.get(`${prefix}/log.txt`);

  await client.put(`${prefix}/src.txt`, Buffer.from('source'), { meta: { who: 'alice' } });
  const copied = await client.copy(`${prefix}/kept.txt`, `${prefix}/src.txt`);
  const kept = await client.head(`${prefix}/kept.txt`);
  await client.copy(`${prefix}/replaced.txt`, `${prefix}/src.txt`, { meta: { who: 'bob' } });
  const replaced = await client.head(`${prefix}/replaced.txt`);

  const big = Buffer.alloc(2 * 100 * 1024, 7);
  big.write('start');
  await client.put(`${prefix}/big.bin`, big);
  const init = await client.initMultipartUpload(`${prefix}/copy.bin`);
  const half = 100 * 1024;
  const parts = [];
  for (const [number, start, end] of [[1, 0, half - 1], [2, half, 2 * half - 1]]) {
    const part = await client.uploadPartCopy(`${prefix}/copy.bin`, init.uploadId, number,
      `${start}-${end}`, { sourceKey: `${prefix}/big.bin`, sourceBucketName: bucket });
    parts.push({ number, etag: part.res.headers.etag });
  }
  await client.completeMultipartUpload(`${prefix}/copy.bin`, init.uploadId, parts);
  const assembled = await client.get(`${prefix}/copy.bin`);

  await client.putACL(`${prefix}/src.txt`, 'public-read');
  const acl = await client.getACL(`${prefix}/src.txt`);

  return {
    append: {
      first: first.nextAppendPosition,
      second: second.nextAppendPosition,
      crc64: second.res.headers['x-oss-hash-crc64ecma'],
      content: appended.content.toString(),
      wrongPosition,
    },
    copy: { status: copied.res.status, keptMeta: kept.meta, replacedMeta: replaced.meta },
    partCopy: { md5: md5Hex(assembled.content), expected: md5Hex(big) },
    acl: acl.acl,
  };
}

run(main);
