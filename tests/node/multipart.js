'use strict';
/*
 * multipartUpload of a local file with a progress callback that records every
 * checkpoint (what the VOD JS SDK persists to localStorage), optionally interrupted
 * and resumed.
 *
 * argv:
 *   --key KEY --file PATH          what to upload (a path: in Node the checkpoint is
 *                                   then plain JSON and survives the process)
 *   [--part-size N] [--parallel N] defaults 102400 and 5
 *   [--checkpoint-file PATH]       write the latest checkpoint there on every progress
 *   [--cancel-after N]             client.cancel() once N parts are done; the result is
 *                                   {cancelled: true, checkpoint}
 *   [--resume-in-process]          after the cancel, resume at once with the in-memory
 *                                   checkpoint (same-session resume)
 *   [--resume-from PATH]           start from a checkpoint saved by an earlier process
 *                                   (cross-session resume: the reload case)
 *
 * Prints one JSON line (see lib/common.js) with the progress trace, the checkpoints'
 * uploadId and done part numbers, the Complete response headers, and a head + get of
 * the final object compared with the file.
 */
const fs = require('fs');
const { makeClient, md5Hex, pickHeaders, run, describeError } = require('./lib/common');

function snapshot(checkpoint) {
  // The checkpoint ali-oss hands to progress() is mutated in place later: copy it.
  return {
    file: checkpoint.file,
    name: checkpoint.name,
    fileSize: checkpoint.fileSize,
    partSize: checkpoint.partSize,
    uploadId: checkpoint.uploadId,
    doneParts: checkpoint.doneParts.map(p => ({ number: p.number, etag: p.etag })),
  };
}

async function upload(client, key, file, options, trace) {
  let latest = options.checkpoint ? snapshot(options.checkpoint) : null;
  trace.attempt += 1;
  const attempt = trace.attempt;
  const progress = async (p, checkpoint, res) => {
    const entry = { p, attempt, requestId: res && res.headers ? res.headers['x-oss-request-id'] : undefined };
    if (attempt !== trace.attempt) {
      // A part of a cancelled attempt that finished after the next attempt reset ali-oss's
      // cancel flag: ali-oss still reports it against the old checkpoint object.
      entry.late = true;
      entry.doneParts = checkpoint ? checkpoint.doneParts.length : undefined;
      trace.late.push(entry);
      return;
    }
    if (checkpoint) {
      latest = snapshot(checkpoint);
      entry.uploadId = checkpoint.uploadId;
      entry.doneParts = checkpoint.doneParts.length;
      if (trace.checkpointFile) {
        fs.writeFileSync(trace.checkpointFile, JSON.stringify(latest));
      }
      if (trace.cancelAfter && checkpoint.doneParts.length >= trace.cancelAfter && !trace.cancelIssued) {
        trace.cancelIssued = true;
        client.cancel();
      }
    }
    trace.events.push(entry);
  };
  try {
    const result = await client.multipartUpload(key, file, Object.assign({}, options, { progress }));
    return { result, latest };
  } catch (err) {
    return { error: err, latest };
  }
}

async function verify(client, key, file) {
  const expected = fs.readFileSync(file);
  const meta = await client.getObjectMeta(key);
  const head = await client.head(key);
  const got = await client.get(key);
  return {
    size: expected.length,
    md5: md5Hex(expected),
    objectMeta: pickHeaders(meta.res),
    head: pickHeaders(head.res),
    get: Object.assign(
      { length: got.content.length, md5: md5Hex(got.content), matches: Buffer.compare(got.content, expected) === 0 },
      pickHeaders(got.res)
    ),
  };
}

async function main(args) {
  const key = args.key;
  const file = args.file;
  if (!key || !file) throw new Error('--key and --file are required');
  const partSize = Number(args['part-size'] || 102400);
  const parallel = Number(args.parallel || 5);
  const cancelAfter = args['cancel-after'] ? Number(args['cancel-after']) : 0;
  const client = makeClient();
  const trace = {
    events: [],
    late: [],
    attempt: 0,
    checkpointFile: args['checkpoint-file'] || null,
    cancelAfter,
    cancelIssued: false,
  };
  const options = { partSize, parallel, mime: 'video/mp4' };
  const out = { key, partSize, parallel };

  if (args['resume-from']) {
    const saved = JSON.parse(fs.readFileSync(args['resume-from'], 'utf8'));
    out.resumedFrom = { uploadId: saved.uploadId, doneParts: saved.doneParts.map(p => p.number) };
    options.checkpoint = saved;
  }

  let attempt = await upload(client, key, file, options, trace);
  if (attempt.error && attempt.error.name === 'cancel') {
    out.cancelled = true;
    out.cancelCheckpoint = attempt.latest;
    if (!args['resume-in-process']) {
      out.events = trace.events;
      return out;
    }
    trace.cancelAfter = 0;
    out.resumedFrom = {
      uploadId: attempt.latest.uploadId,
      doneParts: attempt.latest.doneParts.map(p => p.number),
    };
    // Same-session resume: the checkpoint object as ali-oss left it.
    attempt = await upload(client, key, file, Object.assign({}, options, { checkpoint: attempt.latest }), trace);
  }
  out.events = trace.events;
  out.lateEvents = trace.late;
  if (attempt.error) {
    out.uploadError = describeError(attempt.error);
    throw Object.assign(attempt.error, { partial: out });
  }
  out.complete = Object.assign({ status: attempt.result.res.status }, pickHeaders(attempt.result.res));
  out.finalCheckpoint = attempt.latest;
  out.verify = await verify(client, key, file);
  return out;
}

run(main);
