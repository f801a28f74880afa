'use strict';
/*
 * Shared helpers for the ali-oss conformance scripts.
 *
 * Connection settings come from the environment (the pytest side sets them):
 *   OSS_ENDPOINT            http://127.0.0.1:PORT (the emulator)
 *   OSS_BUCKET              bucket name
 *   OSS_ACCESS_KEY_ID       key id (root or STS.*)
 *   OSS_ACCESS_KEY_SECRET   secret
 *   OSS_STS_TOKEN           security token (optional: STS mode)
 *   OSS_REGION              e.g. oss-cn-shanghai (default)
 *   OSS_CLOCK_SKEW_SECONDS  pretend the client clock is off by this much (ali-oss's
 *                           amendTimeSkewed option shifts every request date)
 *   OSS_SIGNATURE           v1 (default, what the VOD JS SDK uses) or v4
 *                           (ali-oss authorizationV4: OSS4-HMAC-SHA256)
 *   OSS_ADDRESSING          how ali-oss reaches the bucket:
 *     ip    endpoint is the IP; ali-oss then connects to it but sends
 *           "Host: <bucket>.<region>.aliyuncs.com" and the path /<key>
 *           (virtual-hosted as far as the server can tell). Default.
 *     path  endpoint host "localhost" + sldEnable: path /<bucket>/<key>.
 *     vhost endpoint host "localhost": ali-oss sends Host <bucket>.localhost:PORT,
 *           which browsers resolve to loopback; here a custom agent lookup does.
 *
 * Every script prints exactly one JSON line on stdout as its last line:
 *   {"ok": true, ...}  or  {"ok": false, "error": {name, code, status, message, requestId}}
 * and exits 0 in both cases; a non-zero exit means the script itself broke.
 *
 * Nothing here sends traffic anywhere but 127.0.0.1: the agent's lookup refuses any
 * name other than localhost / *.localhost, and proxies are never used.
 */

const http = require('http');
const crypto = require('crypto');
const net = require('net');
const OSS = require('ali-oss');

function loopbackLookup(hostname, options, callback) {
  if (typeof options === 'function') {
    callback = options;
    options = {};
  }
  const name = String(hostname).toLowerCase();
  if (net.isIP(name) === 4 && name.startsWith('127.')) {
    if (options && options.all) return process.nextTick(callback, null, [{ address: name, family: 4 }]);
    return process.nextTick(callback, null, name, 4);
  }
  if (name === 'localhost' || name.endsWith('.localhost')) {
    if (options && options.all) {
      return process.nextTick(callback, null, [{ address: '127.0.0.1', family: 4 }]);
    }
    return process.nextTick(callback, null, '127.0.0.1', 4);
  }
  const err = new Error(`refusing to resolve ${hostname}: the conformance tests only talk to loopback`);
  err.code = 'ENOTFOUND';
  return process.nextTick(callback, err);
}

function env(name, fallback) {
  const value = process.env[name];
  if (value === undefined || value === '') {
    if (fallback === undefined) throw new Error(`missing environment variable ${name}`);
    return fallback;
  }
  return value;
}

/** Build the ali-oss client options for the configured addressing mode. */
function clientOptions(overrides) {
  const endpoint = new URL(env('OSS_ENDPOINT'));
  if (!['127.0.0.1', 'localhost'].includes(endpoint.hostname)) {
    throw new Error(`OSS_ENDPOINT must be a loopback URL, got ${endpoint.href}`);
  }
  const mode = env('OSS_ADDRESSING', 'ip');
  const opts = {
    accessKeyId: env('OSS_ACCESS_KEY_ID'),
    accessKeySecret: env('OSS_ACCESS_KEY_SECRET'),
    bucket: env('OSS_BUCKET'),
    region: env('OSS_REGION', 'oss-cn-shanghai'),
    secure: false,
    timeout: 20000,
    agent: new http.Agent({ keepAlive: true, lookup: loopbackLookup }),
  };
  const signature = env('OSS_SIGNATURE', 'v1');
  if (signature === 'v4') {
    opts.authorizationV4 = true;
  } else if (signature !== 'v1') {
    throw new Error(`unknown OSS_SIGNATURE ${signature}`);
  }
  const skew = Number(env('OSS_CLOCK_SKEW_SECONDS', '0'));
  if (skew) {
    opts.amendTimeSkewed = skew * 1000;
  }
  const token = process.env.OSS_STS_TOKEN;
  if (token) {
    opts.stsToken = token;
  }
  if (mode === 'ip') {
    opts.endpoint = `http://127.0.0.1:${endpoint.port}`;
  } else if (mode === 'path') {
    opts.endpoint = `http://localhost:${endpoint.port}`;
    opts.sldEnable = true;
  } else if (mode === 'vhost') {
    opts.endpoint = `http://localhost:${endpoint.port}`;
  } else {
    throw new Error(`unknown OSS_ADDRESSING ${mode}`);
  }
  return Object.assign(opts, overrides || {});
}

function makeClient(overrides) {
  // ali-oss warns on stderr when stsToken is set without refreshSTSToken; that is expected.
  return new OSS(clientOptions(overrides));
}

/** The fields of an ali-oss error (or cancel/abort event) worth asserting on. */
function describeError(err) {
  if (!err || typeof err !== 'object') return { name: 'NonObjectError', message: String(err) };
  return {
    name: err.name,
    code: err.code,
    status: err.status,
    message: err.message,
    requestId: err.requestId,
    ecCode: err.ecCode,
    hostId: err.hostId,
    partNum: err.partNum,
  };
}

/** Headers ali-oss handed back for a response (lower-case names). */
function pickHeaders(res) {
  const headers = (res && res.headers) || {};
  return {
    etag: headers.etag,
    requestId: headers['x-oss-request-id'],
    crc64: headers['x-oss-hash-crc64ecma'],
    contentLength: headers['content-length'],
    contentType: headers['content-type'],
    objectType: headers['x-oss-object-type'],
    lastModified: headers['last-modified'],
  };
}

function md5Hex(buffer) {
  return crypto.createHash('md5').update(buffer).digest('hex');
}

function sha256Hex(buffer) {
  return crypto.createHash('sha256').update(buffer).digest('hex');
}

/** Minimal --flag value / --flag parser: returns {flag: value|true}. */
function parseArgs(argv) {
  const out = {};
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i];
    if (!arg.startsWith('--')) throw new Error(`unexpected argument ${arg}`);
    const name = arg.slice(2);
    const next = argv[i + 1];
    if (next === undefined || next.startsWith('--')) {
      out[name] = true;
    } else {
      out[name] = next;
      i += 1;
    }
  }
  return out;
}

function emit(result) {
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

/** Run main(); print its result (or the error) as the JSON line; exit 0. */
function run(main) {
  main(parseArgs(process.argv.slice(2)))
    .then(result => {
      emit(Object.assign({ ok: true }, result));
      process.exit(0);
    })
    .catch(err => {
      const out = { ok: false, error: describeError(err) };
      if (err && err.partial) out.partial = err.partial;
      emit(out);
      process.exit(0);
    });
}

module.exports = {
  OSS,
  clientOptions,
  describeError,
  emit,
  env,
  loopbackLookup,
  makeClient,
  md5Hex,
  parseArgs,
  pickHeaders,
  run,
  sha256Hex,
};
