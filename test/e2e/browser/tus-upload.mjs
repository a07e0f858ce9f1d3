#!/usr/bin/env node
// tus-upload.mjs uploads a file to an Osprey server with tus-js-client, the
// reference JavaScript tus client (the one Uppy uses), as a third-party
// client would: node tus-upload.mjs URL FILE TOKEN
// It prints one JSON line {"ok", "url", "bytes"} and exits 0 on success.
import { createReadStream, statSync } from 'node:fs';
import path from 'node:path';
import { Upload } from 'tus-js-client';

const [endpoint, file, token] = process.argv.slice(2);
if (!endpoint || !file || !token) {
  console.error('usage: node tus-upload.mjs ENDPOINT FILE TOKEN');
  process.exit(2);
}
const size = statSync(file).size;
const upload = new Upload(createReadStream(file), {
  endpoint,
  uploadSize: size,
  chunkSize: 256 * 1024,
  retryDelays: [0, 500, 1000],
  headers: { Authorization: `Bearer ${token}` },
  metadata: { filename: path.basename(file), title: 'via tus-js-client' },
  onError(err) {
    console.log(JSON.stringify({ ok: false, error: String(err) }));
    process.exit(1);
  },
  onSuccess() {
    console.log(JSON.stringify({ ok: true, url: upload.url, bytes: size }));
    process.exit(0);
  },
});
upload.start();
