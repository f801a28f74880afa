'use strict';
/*
 * The rest of the ali-oss surface a Node user of the emulator meets: ListObjects (v1,
 * with a delimiter) and ListObjectsV2 paging, low-level multipart (init, uploadPart,
 * listParts, listUploads, abort, abort again), deleteMulti, a ranged get, getStream and
 * a V1 presigned URL from signatureUrl (fetched with plain http). ali-oss parses every
 * XML answer with xml2js, so this checks the emulator's XML from ali-oss's side.
 *
 * argv: --prefix P (a fresh key prefix)
 * Prints one JSON line (see lib/common.js).
 */
const http = require('http');
const { makeClient, describeError, loopbackLookup, run } = require('./lib/common');

async function outcome(fn) {
  try {
    return Object.assign({ ok: true }, await fn());
  } catch (err) {
    return { ok: false, error: describeError(err) };
  }
}

function fetch(url) {
  return new Promise((resolve, reject) => {
    http
      .get(url, { lookup: loopbackLookup, agent: false }, res => {
        const chunks = [];
        res.on('data', chunk => chunks.push(chunk));
        res.on('end', () => resolve({ status: res.statusCode, body: Buffer.concat(chunks).toString() }));
      })
      .on('error', reject);
  });
}

async function main(args) {
  const prefix = args.prefix;
  if (!prefix) throw new Error('--prefix is required');
  const client = makeClient();
  const keys = [`${prefix}a b.txt`, `${prefix}b+c.txt`, `${prefix}sub/d.txt`, `${prefix}sub/e.txt`];
  for (const key of keys) {
    await client.put(key, Buffer.from(`body of ${key}`));
  }
  const out = { keys };

  out.list = await outcome(async () => {
    const r = await client.list({ prefix, delimiter: '/', 'max-keys': 100 });
    return {
      objects: (r.objects || []).map(o => ({ name: o.name, size: o.size, etag: o.etag, lastModified: o.lastModified })),
      prefixes: r.prefixes,
      isTruncated: r.isTruncated,
    };
  });

  out.listV2Pages = await outcome(async () => {
    const pages = [];
    let token;
    for (let i = 0; i < 10; i++) {
      const query = { prefix, 'max-keys': 3 };
      if (token) query['continuation-token'] = token;
      const r = await client.listV2(query);
      pages.push({ names: (r.objects || []).map(o => o.name), isTruncated: r.isTruncated, keyCount: r.keyCount });
      token = r.nextContinuationToken;
      if (!r.isTruncated) break;
    }
    return { pages };
  });

  const mpKey = `${prefix}low-level.bin`;
  out.multipart = await outcome(async () => {
    const init = await client.initMultipartUpload(mpKey);
    const part = Buffer.alloc(150000, 7);
    const up = await client.uploadPart(mpKey, init.uploadId, 1, part, 0, part.length);
    const parts = await client.listParts(mpKey, init.uploadId);
    const uploads = await client.listUploads({ prefix });
    const abort = await client.abortMultipartUpload(mpKey, init.uploadId);
    let abortAgain = null;
    try {
      await client.abortMultipartUpload(mpKey, init.uploadId);
    } catch (err) {
      abortAgain = describeError(err);
    }
    const listedPart = Array.isArray(parts.parts) ? parts.parts[0] : parts.parts;
    return {
      uploadId: init.uploadId,
      initName: init.name,
      partEtag: up.etag,
      listParts: {
        uploadId: parts.uploadId,
        name: parts.name,
        isTruncated: parts.isTruncated,
        count: Array.isArray(parts.parts) ? parts.parts.length : 1,
        part: listedPart,
      },
      uploads: uploads.uploads,
      abortStatus: abort.res.status,
      abortAgain,
    };
  });

  out.deleteMulti = await outcome(async () => {
    const r = await client.deleteMulti([keys[0], `${prefix}never-existed`], { quiet: false });
    return { deleted: r.deleted };
  });

  out.range = await outcome(async () => {
    const r = await client.get(keys[1], { headers: { Range: 'bytes=0-3' } });
    return { status: r.res.status, body: r.content.toString(), contentRange: r.res.headers['content-range'] };
  });

  out.stream = await outcome(async () => {
    const r = await client.getStream(keys[2]);
    const chunks = [];
    for await (const chunk of r.stream) chunks.push(chunk);
    return { body: Buffer.concat(chunks).toString() };
  });

  out.signatureUrl = await outcome(async () => {
    const url = client.signatureUrl(keys[3], { expires: 300 });
    const got = await fetch(url);
    return { status: got.status, body: got.body };
  });

  return out;
}

run(main);
