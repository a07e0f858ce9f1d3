#!/usr/bin/env node
// dvrseek.mjs opens an Osprey player page (/watch/{channel}) of a channel
// with a DVR window in Debian's headless Chromium and checks the seek bar:
//   - the page shows the seek bar (#dvr) once it plays live;
//   - moving the bar --back seconds behind the live edge plays from there
//     with --engine (hls.js by default; window.osprey.dvr.start set, state "playing", the
//     playhead's program date time about --back seconds behind the clock,
//     the playhead advancing);
//   - the Live button returns to the live edge (state "live", latency well
//     under --back seconds);
//   - no fatal player error and no uncaught page error throughout.
// It prints one JSON line with the result and exits 0 (pass), 1 (fail) or
// 2 (bad usage).
//
//   node dvrseek.mjs URL [--engine hls|dash] [--back 20] [--timeout 90] [--chromium /usr/bin/chromium]
import { withChromium } from './chromium.mjs';

const USAGE = 'usage: node dvrseek.mjs URL [--engine hls|dash] [--back 20] [--timeout 90] [--chromium PATH]';

function parseArgs(argv) {
  const opts = { url: '', engine: 'hls', back: 20, timeout: 90, chromium: '/usr/bin/chromium' };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} wants a value`);
      return argv[++i];
    };
    switch (a) {
      case '--back':
      case '--timeout': {
        const n = Number(value());
        if (!(n > 0)) throw new Error(`${a} wants a positive number`);
        opts[a.slice(2)] = n;
        break;
      }
      case '--chromium':
        opts.chromium = value();
        break;
      case '--engine':
        opts.engine = value();
        if (opts.engine !== 'hls' && opts.engine !== 'dash') throw new Error('--engine is hls or dash');
        break;
      default:
        if (a.startsWith('-') || opts.url) throw new Error(`unexpected argument ${a}`);
        opts.url = a;
    }
  }
  if (!opts.url) throw new Error('URL missing');
  const u = new URL(opts.url);
  u.searchParams.set('player', opts.engine);
  opts.url = u.href;
  return opts;
}

// state runs in the page.
function state() {
  const o = window.osprey || {};
  const v = document.querySelector('video');
  const seek = document.getElementById('seek');
  return {
    state: o.state,
    dvr: o.dvr ? { ...o.dvr } : null,
    latency: o.latency,
    t: v ? v.currentTime : 0,
    barShown: !document.getElementById('dvr').hidden,
    barMax: seek ? Number(seek.max) : 0,
    livePressed: document.getElementById('go-live').getAttribute('aria-pressed'),
    fatal: (o.errors || []).filter((e) => e.fatal).map((e) => [e.type, e.details, e.message].join(' / ')),
  };
}

async function run(opts, result) {
  const deadline = Date.now() + opts.timeout * 1000;
  const left = () => Math.max(1, deadline - Date.now());
  return withChromium(opts, deadline, async (context) => {
    const page = context.pages()[0] || (await context.newPage());
    page.on('pageerror', (e) => {
      result.page_errors.push(String((e && e.message) || e));
      if (e && e.stack) result.page_error_stacks.push(String(e.stack).slice(0, 600));
    });
    const resp = await page.goto(opts.url, { waitUntil: 'domcontentloaded', timeout: left() });
    if (!resp || !resp.ok()) return `the page answered HTTP ${resp ? resp.status() : 'nothing'}`;

    // until polls the page until cond holds; it returns the last state.
    const until = async (what, cond) => {
      for (;;) {
        const s = await page.evaluate(state);
        result.last = s;
        if (result.page_errors.length) throw new Error(`uncaught page error: ${result.page_errors[0]}`);
        if (s.fatal.length) throw new Error(`fatal player error: ${s.fatal[0]}`);
        if (cond(s)) return s;
        if (Date.now() + 250 >= deadline) throw new Error(`timed out waiting for ${what}`);
        await new Promise((r) => setTimeout(r, 250));
      }
    };
    await until('live playback with the seek bar', (s) => s.state === 'live' && s.barShown && s.barMax >= opts.back + 4 && s.livePressed === 'true');

    await page.evaluate((back) => {
      const seek = document.getElementById('seek');
      seek.focus();
      seek.value = String(Number(seek.max) - back);
      seek.dispatchEvent(new Event('input'));
      seek.dispatchEvent(new Event('change'));
    }, opts.back);
    const shifted = await until(
      'playback behind the live edge',
      (s) => s.dvr && s.dvr.start && s.state === 'playing' && s.latency >= opts.back - 2 && s.livePressed === 'false'
    );
    result.shifted_latency_s = shifted.latency;
    result.shifted_start = shifted.dvr.start;
    const t0 = shifted.t;
    const moved = await until('the time-shifted playhead to advance', (s) => s.t >= t0 + 3);
    if (!(moved.latency >= opts.back - 2)) return `time-shifted playback jumped to the live edge (latency ${moved.latency} s)`;

    await page.click('#go-live');
    const live = await until(
      'live playback again',
      (s) => s.dvr && !s.dvr.start && s.state === 'live' && typeof s.latency === 'number' && s.latency < opts.back - 6
    );
    result.live_latency_s = live.latency;
    return '';
  }).catch((e) => String((e && e.message) || e));
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    process.stderr.write(`dvrseek.mjs: ${e.message}\n${USAGE}\n`);
    process.exit(2);
  }
  const result = { ok: false, url: opts.url, engine: opts.engine, back: opts.back, page_errors: [], page_error_stacks: [] };
  const reason = await run(opts, result);
  result.ok = reason === '';
  if (reason) result.reason = reason;
  process.stdout.write(JSON.stringify(result) + '\n');
  process.exit(result.ok ? 0 : 1);
}

main();
