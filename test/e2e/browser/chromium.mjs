// chromium.mjs: the headless Chromium the browser scripts drive (play.mjs,
// dvrseek.mjs), launched the same way for all of them.
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium } from 'playwright-core';

// Chromium must neither phone home nor need a GPU or a click to play.
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--autoplay-policy=no-user-gesture-required',
];

// withChromium runs fn(context) in a fresh headless Chromium (opts.chromium:
// its executable) with a profile of its own, then closes it, after a
// screenshot of its first page into opts.screenshot when set. deadline
// (ms since the epoch) bounds the launch.
export async function withChromium(opts, deadline, fn) {
  const left = () => Math.max(1, deadline - Date.now());
  const userDataDir = await mkdtemp(path.join(tmpdir(), 'osprey-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: opts.chromium,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 720 },
      timeout: Math.min(left(), 30000),
    });
    return await fn(context);
  } finally {
    if (context && opts.screenshot) {
      const page = context.pages()[0];
      if (page) await page.screenshot({ path: opts.screenshot }).catch(() => {});
    }
    if (context) await context.close().catch(() => {});
    await rm(userDataDir, { recursive: true, force: true }).catch(() => {});
  }
}
