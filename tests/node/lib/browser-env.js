'use strict';
/*
 * Just enough of a browser for ali-oss's browser build (dist/aliyun-oss-sdk.js, what the
 * VOD JS SDK bundles) to run in Node: window, location (the page's origin), navigator,
 * and an XMLHttpRequest that behaves like a browser's toward a cross-origin server:
 *
 * - forbidden request headers (Host, Date, Content-Length, ...) are dropped, as browsers
 *   refuse to set them;
 * - a request that is not "simple" is preceded by an OPTIONS preflight (Origin,
 *   Access-Control-Request-Method/-Headers); the preflight must answer 2xx with one
 *   Access-Control-Allow-Origin matching the page and allow the method and every header,
 *   else the request fails as a network error (status 0, onerror), as in a browser;
 * - the actual response must carry a matching Access-Control-Allow-Origin too, and
 *   getAllResponseHeaders() shows only the CORS-safelisted response headers plus those
 *   listed in Access-Control-Expose-Headers (so ali-oss sees an ETag only if exposed);
 * - localhost and *.localhost resolve to 127.0.0.1 (as Chrome and Firefox do); any other
 *   name is refused, so nothing leaves the machine.
 *
 * Every network-level event is appended to `log` for the test to assert on.
 */
const http = require('http');
const { loopbackLookup } = require('./common');

const FORBIDDEN_REQUEST_HEADERS = new Set([
  'accept-charset', 'accept-encoding', 'access-control-request-headers',
  'access-control-request-method', 'connection', 'content-length', 'cookie', 'cookie2',
  'date', 'dnt', 'expect', 'host', 'keep-alive', 'origin', 'referer', 'set-cookie', 'te',
  'trailer', 'transfer-encoding', 'upgrade', 'via',
]);
const SAFELISTED_REQUEST_HEADERS = new Set(['accept', 'accept-language', 'content-language']);
const SIMPLE_CONTENT_TYPES = new Set([
  'application/x-www-form-urlencoded', 'multipart/form-data', 'text/plain',
]);
const SAFELISTED_RESPONSE_HEADERS = new Set([
  'cache-control', 'content-language', 'content-length', 'content-type', 'expires',
  'last-modified', 'pragma',
]);
const RESPONSE_TYPES = new Set(['', 'arraybuffer', 'text']);

const log = [];

function send(method, url, headers, body) {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method, headers, lookup: loopbackLookup, agent: false },
      res => {
        const chunks = [];
        res.on('data', chunk => chunks.push(chunk));
        res.on('end', () => resolve({ res, body: Buffer.concat(chunks) }));
        res.on('error', reject);
      }
    );
    req.on('error', reject);
    if (body && body.length) req.end(body);
    else req.end();
  });
}

function single(res, name) {
  const raw = res.rawHeaders;
  const values = [];
  for (let i = 0; i < raw.length; i += 2) {
    if (raw[i].toLowerCase() === name) values.push(raw[i + 1]);
  }
  return values;
}

function tokens(value) {
  return new Set(
    String(value || '')
      .split(',')
      .map(s => s.trim().toLowerCase())
      .filter(Boolean)
  );
}

function originAllowed(res, origin) {
  const values = single(res, 'access-control-allow-origin');
  return values.length === 1 && (values[0] === origin || values[0] === '*');
}

class XMLHttpRequest {
  constructor() {
    this.readyState = 0;
    this.status = 0;
    this.statusText = '';
    this.response = null;
    this.responseText = '';
    this.responseURL = '';
    this.timeout = 0;
    this.withCredentials = false;
    this._responseType = '';
    this._headers = [];
    this._exposed = '';
    this._aborted = false;
    this.onreadystatechange = null;
    this.onerror = null;
    this.ontimeout = null;
    this.upload = {};
  }

  get responseType() {
    return this._responseType;
  }

  set responseType(value) {
    if (RESPONSE_TYPES.has(value)) this._responseType = value;
  }

  open(method, url) {
    this._method = String(method).toUpperCase();
    this._url = new URL(url, globalThis.location.href);
    this.readyState = 1;
  }

  setRequestHeader(name, value) {
    const lower = String(name).toLowerCase();
    if (FORBIDDEN_REQUEST_HEADERS.has(lower) || lower.startsWith('proxy-') || lower.startsWith('sec-')) {
      log.push({ event: 'refused-header', name: lower });
      return;
    }
    this._headers.push([name, String(value)]);
  }

  overrideMimeType() {}

  abort() {
    this._aborted = true;
  }

  getAllResponseHeaders() {
    return this._exposed;
  }

  _state(n) {
    this.readyState = n;
    if (this.onreadystatechange) this.onreadystatechange();
  }

  _networkError(reason) {
    log.push({ event: 'network-error', method: this._method, url: this._url.href, reason });
    this.status = 0;
    this._state(4);
    if (this.onerror) this.onerror(new Error(reason));
  }

  _needsPreflight() {
    if (!['GET', 'HEAD', 'POST'].includes(this._method)) return true;
    return this._headers.some(([name, value]) => {
      const lower = name.toLowerCase();
      if (lower === 'content-type') return !SIMPLE_CONTENT_TYPES.has(value.split(';')[0].trim().toLowerCase());
      return !SAFELISTED_REQUEST_HEADERS.has(lower);
    });
  }

  send(body) {
    this._run(body).catch(err => this._networkError(String(err && err.message)));
  }

  async _run(body) {
    const origin = globalThis.location.origin;
    const url = this._url.href;
    const crossOrigin = this._url.origin !== origin;
    if (crossOrigin && this._needsPreflight()) {
      const requested = [...new Set(this._headers.map(([n]) => n.toLowerCase()))]
        .filter(n => !SAFELISTED_REQUEST_HEADERS.has(n))
        .sort();
      const pre = await send('OPTIONS', url, {
        Origin: origin,
        'Access-Control-Request-Method': this._method,
        'Access-Control-Request-Headers': requested.join(','),
      });
      const res = pre.res;
      const methods = tokens(res.headers['access-control-allow-methods']);
      const allowedHeaders = tokens(res.headers['access-control-allow-headers']);
      const missing = requested.filter(
        n => !allowedHeaders.has(n) && !(allowedHeaders.has('*') && n !== 'authorization')
      );
      log.push({
        event: 'preflight',
        method: this._method,
        host: this._url.host,
        path: this._url.pathname,
        status: res.statusCode,
        allowOrigin: single(res, 'access-control-allow-origin'),
        missingHeaders: missing,
      });
      if (res.statusCode < 200 || res.statusCode > 299) return this._networkError(`preflight status ${res.statusCode}`);
      if (!originAllowed(res, origin)) return this._networkError('preflight Access-Control-Allow-Origin');
      if (!methods.has(this._method.toLowerCase()) && !methods.has('*')) {
        return this._networkError(`preflight does not allow ${this._method}`);
      }
      if (missing.length) return this._networkError(`preflight does not allow headers ${missing}`);
    }
    if (this._aborted) return undefined;
    const headers = {};
    for (const [name, value] of this._headers) headers[name] = value;
    if (crossOrigin) headers.Origin = origin;
    const payload = body ? Buffer.from(body instanceof ArrayBuffer ? new Uint8Array(body) : body) : null;
    if (payload && payload.length) headers['Content-Length'] = String(payload.length);
    const got = await send(this._method, url, headers, payload);
    const res = got.res;
    log.push({
      event: 'request',
      method: this._method,
      host: res.req ? res.req.getHeader('host') : this._url.host,
      path: this._url.pathname + this._url.search,
      status: res.statusCode,
    });
    if (crossOrigin && !originAllowed(res, origin)) {
      return this._networkError('response Access-Control-Allow-Origin');
    }
    if (this._aborted) return undefined;
    const expose = tokens(res.headers['access-control-expose-headers']);
    const lines = [];
    for (let i = 0; i < res.rawHeaders.length; i += 2) {
      const lower = res.rawHeaders[i].toLowerCase();
      if (!crossOrigin || SAFELISTED_RESPONSE_HEADERS.has(lower) || expose.has(lower) || expose.has('*')) {
        lines.push(`${lower}: ${res.rawHeaders[i + 1]}`);
      }
    }
    this._exposed = lines.join('\r\n');
    this.status = res.statusCode;
    this.statusText = res.statusMessage;
    this.responseURL = url;
    this._state(2);
    const bytes = got.body;
    this.responseText = this._responseType === 'text' || this._responseType === '' ? bytes.toString('latin1') : '';
    this.response =
      this._responseType === 'arraybuffer'
        ? bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length)
        : this.responseText;
    this._state(3);
    this._state(4);
    return undefined;
  }
}

/** A Date whose "now" is off by skewMs, as on a machine with a wrong clock. */
function skewedDate(skewMs) {
  const RealDate = Date;
  class SkewedDate extends RealDate {
    constructor(...args) {
      if (args.length === 0) super(RealDate.now() + skewMs);
      else super(...args);
    }

    static now() {
      return RealDate.now() + skewMs;
    }
  }
  return SkewedDate;
}

/**
 * Install the browser globals and load ali-oss's browser build; returns its OSS class.
 * clockSkewSeconds shifts the page's clock (ali-oss's browser build then meets
 * RequestTimeTooSkewed and corrects itself from the error's ServerTime).
 */
function loadBrowserOSS(pageOrigin, clockSkewSeconds = 0) {
  if (clockSkewSeconds) {
    globalThis.Date = skewedDate(clockSkewSeconds * 1000);
  }
  globalThis.window = globalThis;
  globalThis.location = new URL('/upload.html', pageOrigin);
  Object.defineProperty(globalThis, 'navigator', {
    value: {
      userAgent:
        'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36',
    },
    configurable: true,
    writable: true,
  });
  globalThis.XMLHttpRequest = XMLHttpRequest;
  // eslint-disable-next-line global-require
  return require('ali-oss/dist/aliyun-oss-sdk.js');
}

module.exports = { XMLHttpRequest, loadBrowserOSS, log };
