#!/usr/bin/env node
// play.mjs opens an Osprey player page (/watch/{channel}) in Debian's headless
// Chromium and checks that the stream really plays:
//   - playback starts before the timeout (the page may first wait for a publisher);
//   - the playhead then advances by at least --seconds of continuous playback
//     (seeks and jumps are not counted);
//   - the page shows a rendition name (window.osprey.rendition and #rendition);
//   - no fatal player error (window.osprey.errors with fatal: true), no uncaught
//     page error, and no request to any origin but the page's own.
// It also reports, once playback started, the stalls (the playhead stuck for
// STALL_MS or more while not paused), the page's latency samples
// (window.osprey.latency: wall clock less the playhead's program date time)
// as median and p95, whether the playlist had LL-HLS parts, the median of
// the seconds buffered ahead of the playhead and the highest playback rate
// (players speed up to get back to their target latency).
// Console errors and recovered player errors are reported but do not fail.
//
// It counts the page's requests once playback started (requests: playlists,
// blocking playlist reloads with _HLS_msn, LL-HLS parts, other media, and
// their rate per second of wall clock).
//
// It prints one JSON line with the result and exits 0 (pass), 1 (fail) or
// 2 (bad usage).
//
//   node play.mjs URL [--engine hls|dash] [--seconds 5] [--timeout 60]
//                     [--hls-low-latency on|off]
//                     [--screenshot FILE] [--chromium /usr/bin/chromium]
//   node play.mjs --pages JSON [--seconds 5] [--timeout 60] [--chromium PATH]
//
// --engine sets the page's ?player= and requires the page to use that engine.
// --timeout bounds the whole run, from launch to verdict, in seconds.
// --hls-low-latency off makes hls.js play with lowLatencyMode false (plain
// HLS: whole segments, no blocking reloads) whatever the page asks for; on
// forces it true. Default: the page's own setting.
// --pages plays several pages at once in one Chromium (one tab each): JSON is
// an array of {"url", "engine", "hls_low_latency": "on"|"off"}; the output
// line is {"ok", "reason", "pages": [one result per page, as above]} and the
// exit code 0 only when every page passed (bench/latency uses it).
import { withChromium } from './chromium.mjs';

const USAGE =
  'usage: node play.mjs URL [--engine hls|dash] [--seconds 5] [--timeout 60] [--hls-low-latency on|off] [--screenshot FILE] [--chromium PATH]\n' +
  '       node play.mjs --pages JSON [--seconds 5] [--timeout 60] [--chromium PATH]';
const POLL_MS = 250;
const JUMP_SLACK_S = 1; // a playhead step this much longer than the wall-clock step is a seek
const KEPT = 20; // errors of each kind kept in the output
const STALL_MS = 500; // the playhead stuck this long while playing is a stall


function parseArgs(argv) {
  const opts = {
    url: '',
    engine: '',
    seconds: 5,
    timeout: 60,
    screenshot: '',
    chromium: '/usr/bin/chromium',
    hlsLowLatency: '',
    pages: null,
  };
  const number = (name, v) => {
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new Error(`${name} wants a positive number, not ${JSON.stringify(v)}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const value = () => {
      if (i + 1 >= argv.length) throw new Error(`${a} wants a value`);
      return argv[++i];
    };
    switch (a) {
      case '--engine':
        opts.engine = value();
        if (opts.engine !== 'hls' && opts.engine !== 'dash') throw new Error('--engine is hls or dash');
        break;
      case '--seconds':
        opts.seconds = number(a, value());
        break;
      case '--timeout':
        opts.timeout = number(a, value());
        break;
      case '--screenshot':
        opts.screenshot = value();
        break;
      case '--chromium':
        opts.chromium = value();
        break;
      case '--hls-low-latency':
        opts.hlsLowLatency = onOff(a, value());
        break;
      case '--pages':
        opts.pages = parsePages(value());
        break;
      case '-h':
      case '--help':
        throw new Error('');
      default:
        if (a.startsWith('-') || opts.url) throw new Error(`unexpected argument ${a}`);
        opts.url = a;
    }
  }
  if (opts.pages) {
    if (opts.url || opts.engine || opts.hlsLowLatency || opts.screenshot)
      throw new Error('--pages takes the URLs, engines and modes in its JSON');
    return opts;
  }
  if (!opts.url) throw new Error('URL missing');
  opts.url = pageURL(opts.url, opts.engine);
  return opts;
}

// pageURL is the page's URL with ?player= set to the engine (if any).
function pageURL(url, engine) {
  const u = new URL(url); // throws on a malformed URL
  if (engine) u.searchParams.set('player', engine);
  return u.href;
}

function onOff(name, v) {
  if (v !== 'on' && v !== 'off') throw new Error(`${name} is on or off`);
  return v;
}

// parsePages reads --pages: a JSON array of {url, engine, hls_low_latency}.
function parsePages(text) {
  let list;
  try {
    list = JSON.parse(text);
  } catch (e) {
    throw new Error(`--pages wants a JSON array: ${e.message}`);
  }
  if (!Array.isArray(list) || list.length === 0) throw new Error('--pages wants a non-empty JSON array');
  return list.map((p) => {
    const engine = p.engine || '';
    if (engine !== '' && engine !== 'hls' && engine !== 'dash') throw new Error('--pages: engine is hls or dash');
    return {
      url: pageURL(String(p.url || ''), engine),
      engine,
      hlsLowLatency: p.hls_low_latency ? onOff('hls_low_latency', p.hls_low_latency) : '',
    };
  });
}

// forceHlsLowLatency runs in the page before its scripts: whatever the page
// passes to new Hls(config), lowLatencyMode is the value given. hls.js's
// bundle assigns window.Hls once; the setter hands the page a subclass.
function forceHlsLowLatency(on) {
  let wrapped;
  Object.defineProperty(window, 'Hls', {
    configurable: true,
    get: () => wrapped,
    set: (Hls) => {
      wrapped =
        typeof Hls === 'function'
          ? class extends Hls {
              constructor(config) {
                super(Object.assign({}, config, { lowLatencyMode: on }));
              }
            }
          : Hls;
    },
  });
}

// requestKind sorts a media request by its URL.
function requestKind(u) {
  const p = u.pathname;
  if (p.endsWith('.m3u8')) return u.searchParams.has('_HLS_msn') ? 'blocking' : 'playlists';
  if (p.endsWith('.mpd')) return 'playlists';
  if (/\/\d+\.\d+\.m4s$/.test(p)) return 'parts';
  return 'media';
}

// snapshot runs in the page: the video element and window.osprey, as plain data.
function snapshot() {
  // aheadOf is how many seconds are buffered past the playhead.
  const aheadOf = (v) => {
    for (let i = 0; i < v.buffered.length; i++) {
      if (v.buffered.start(i) <= v.currentTime + 0.1 && v.currentTime < v.buffered.end(i)) return v.buffered.end(i) - v.currentTime;
    }
    return 0;
  };
  const v = document.querySelector('video');
  const o = window.osprey;
  const q = v && v.getVideoPlaybackQuality ? v.getVideoPlaybackQuality() : null;
  return {
    wall: Date.now(),
    hasVideo: !!v,
    t: v ? v.currentTime : 0,
    paused: v ? v.paused : true,
    readyState: v ? v.readyState : 0,
    frames: q ? q.totalVideoFrames : null,
    rate: v ? v.playbackRate : 1,
    ahead: v ? aheadOf(v) : 0,
    dropped: q ? q.droppedVideoFrames : null,
    renditionText: (document.getElementById('rendition') || {}).textContent || '',
    osprey: o ? JSON.parse(JSON.stringify(o)) : null,
  };
}

async function run(opts, result) {
  const deadline = Date.now() + opts.timeout * 1000;
  return withChromium(opts, deadline, async (context) => {
    const page = context.pages()[0] || (await context.newPage());
    return watch(page, opts, result, deadline);
  });
}

// runPages plays the pages of --pages at once, one tab each in one Chromium,
// and returns each page's reason.
async function runPages(opts, results) {
  const deadline = Date.now() + opts.timeout * 1000;
  return withChromium(opts, deadline, async (context) => {
    const tabs = [];
    for (let i = 0; i < opts.pages.length; i++) {
      tabs.push(i === 0 && context.pages()[0] ? context.pages()[0] : await context.newPage());
    }
    return Promise.all(
      opts.pages.map((p, i) =>
        watch(tabs[i], { ...opts, ...p }, results[i], deadline).catch(
          (e) => `harness error: ${(e && e.message) || e}`.split('\n')[0]
        )
      )
    );
  });
}

// watch plays opts.url (with opts.engine, opts.hlsLowLatency, opts.seconds,
// opts.timeout) in page and fills result; it returns the reason of a
// failure, or '' when the page passed.
async function watch(page, opts, result, deadline) {
  const left = () => Math.max(1, deadline - Date.now());
  const origin = new URL(opts.url).origin;
  const foreign = new Set();
  let playingSince = 0; // wall clock when playback started; requests count from then
  const counts = { playlists: 0, blocking: 0, parts: 0, media: 0 };
  const countRequests = () => {
    const total = counts.playlists + counts.blocking + counts.parts + counts.media;
    const s = (Date.now() - playingSince) / 1000;
    result.requests = { ...counts, total, seconds: round(s), per_s: s > 0 ? round(total / s) : null };
  };
  if (opts.hlsLowLatency) await page.addInitScript(forceHlsLowLatency, opts.hlsLowLatency === 'on');
  page.on('pageerror', (e) => result.page_errors.push(String((e && e.message) || e)));
  page.on('console', (m) => {
    if (m.type() === 'error' && result.console_errors.length < KEPT) result.console_errors.push(m.text());
  });
  page.on('request', (req) => {
    const u = new URL(req.url());
    if ((u.protocol === 'http:' || u.protocol === 'https:') && u.origin !== origin) foreign.add(u.origin + u.pathname);
    else if (playingSince && u.origin === origin) counts[requestKind(u)]++;
  });

  const navStart = Date.now();
  const resp = await page.goto(opts.url, { waitUntil: 'domcontentloaded', timeout: left() });
  if (!resp || !resp.ok()) return `the page answered HTTP ${resp ? resp.status() : 'nothing'}`;

  let prev = null;
  let playing = false;
  let stuckSince = 0;
  const latencies = [];
  const aheads = []; // seconds buffered past the playhead, sampled after startup
  let reason;
  for (;;) {
    const s = await page.evaluate(snapshot);
    const o = s.osprey;
    if (o) {
      result.engine = o.engine;
      if (o.state !== result.states[result.states.length - 1]) result.states.push(o.state);
      result.state = o.state;
      result.renditions = o.renditions || [];
      result.errors = (o.errors || []).slice(-KEPT);
      result.fatal_errors = (o.errors || []).filter((e) => e.fatal).length;
    }
    result.rendition_label = s.renditionText;
    result.frames = s.frames;
    result.dropped_frames = s.dropped;
    result.foreign_requests = [...foreign];

    if (result.page_errors.length) return `uncaught page error: ${result.page_errors[0]}`;
    if (result.fatal_errors) {
      const e = o.errors.find((x) => x.fatal);
      return `fatal player error: ${[e.type, e.details, e.message].filter(Boolean).join(' / ')}`;
    }
    if (foreign.size) return `the page requested another origin: ${[...foreign][0]}`;
    if (!s.hasVideo) return 'the page has no <video> element';
    if (o && opts.engine && o.engine !== opts.engine) return `asked for ${opts.engine} but the page plays with ${o.engine}`;

    if (prev && !s.paused) {
      const step = s.t - prev.t;
      const wall = (s.wall - prev.wall) / 1000;
      if (playing && step === 0) {
        if (!stuckSince) stuckSince = prev.wall;
      } else if (stuckSince) {
        if (s.wall - stuckSince >= STALL_MS) result.stalls.push(round((s.wall - stuckSince) / 1000));
        stuckSince = 0;
      }
      if (step > 0 && step <= wall + JUMP_SLACK_S) {
        if (!playing) {
          playing = true;
          playingSince = s.wall;
          result.startup_s = round((s.wall - navStart) / 1000);
          result.start_time = round(prev.t);
        }
        result.advanced_s = round(result.advanced_s + step);
      } else if (step !== 0) {
        result.jumps.push(round(step));
      }
    }
    prev = s;
    if (playing && o && typeof o.latency === 'number') {
      latencies.push(o.latency);
      const sorted = [...latencies].sort((a, b) => a - b);
      result.latency_median_s = round(sorted[Math.floor(sorted.length / 2)]);
      result.latency_p95_s = round(sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * 0.95))]);
      result.latency_samples = latencies.length;
    }
    if (playing) {
      aheads.push(s.ahead);
      result.buffer_ahead_median_s = round([...aheads].sort((a, b) => a - b)[Math.floor(aheads.length / 2)]);
      result.playback_rate_max = Math.max(result.playback_rate_max || 1, s.rate);
    }
    if (o) result.low_latency = !!o.lowLatency;
    if (playing) countRequests();

    const renditionShown = !!(o && o.rendition) && s.renditionText.trim() !== '';
    if (result.advanced_s >= opts.seconds && renditionShown) return '';

    if (Date.now() + POLL_MS >= deadline) {
      if (!o) reason = 'window.osprey never appeared (did player.js load?)';
      else if (!playing) reason = `playback did not start within ${opts.timeout} s (state ${o.state})`;
      else if (result.advanced_s < opts.seconds)
        reason = `the playhead advanced ${result.advanced_s} s of the ${opts.seconds} s asked for`;
      else reason = 'no rendition was shown';
      const last = o && o.errors && o.errors[o.errors.length - 1];
      if (last) reason += `; last player error: ${[last.type, last.details, last.message].filter(Boolean).join(' / ')}`;
      return reason;
    }
    await new Promise((r) => setTimeout(r, POLL_MS));
  }
}

function round(x) {
  return Math.round(x * 1000) / 1000;
}

async function main() {
  let opts;
  try {
    opts = parseArgs(process.argv.slice(2));
  } catch (e) {
    if (e.message) process.stderr.write(`play.mjs: ${e.message}\n`);
    process.stderr.write(USAGE + '\n');
    process.exit(2);
  }
  if (opts.pages) return mainPages(opts);
  const result = newResult(opts.url, opts.seconds);
  const finish = (reason) => {
    result.reason = reason;
    result.ok = reason === '';
    process.stdout.write(JSON.stringify(result) + '\n');
    process.exit(result.ok ? 0 : 1);
  };
  // A last guard in case the browser itself hangs.
  setTimeout(() => finish(`harness timed out after ${opts.timeout + 30} s`), (opts.timeout + 30) * 1000).unref();
  let reason;
  try {
    reason = await run(opts, result);
  } catch (e) {
    reason = `harness error: ${(e && e.message) || e}`.split('\n')[0];
  }
  finish(reason);
}

// mainPages is main for --pages: one result per page, in one line.
async function mainPages(opts) {
  const results = opts.pages.map((p) => newResult(p.url, opts.seconds));
  const out = { ok: false, reason: '', pages: results };
  const finish = (reasons) => {
    reasons.forEach((r, i) => {
      results[i].reason = r;
      results[i].ok = r === '';
    });
    const failed = results.findIndex((r) => !r.ok);
    out.ok = failed < 0;
    out.reason = failed < 0 ? '' : `page ${failed + 1}: ${results[failed].reason}`;
    process.stdout.write(JSON.stringify(out) + '\n');
    process.exit(out.ok ? 0 : 1);
  };
  setTimeout(
    () => finish(results.map((r) => r.reason || `harness timed out after ${opts.timeout + 30} s`)),
    (opts.timeout + 30) * 1000
  ).unref();
  let reasons;
  try {
    reasons = await runPages(opts, results);
  } catch (e) {
    const msg = `harness error: ${(e && e.message) || e}`.split('\n')[0];
    reasons = results.map(() => msg);
  }
  finish(reasons);
}

// newResult is a result before the run: nothing seen yet.
function newResult(url, seconds) {
  return {
    ok: false,
    url,
    engine: null,
    state: null,
    states: [],
    startup_s: null,
    start_time: null,
    advanced_s: 0,
    seconds,
    jumps: [],
    stalls: [],
    latency_median_s: null,
    latency_p95_s: null,
    latency_samples: 0,
    buffer_ahead_median_s: null,
    playback_rate_max: null,
    low_latency: false,
    frames: null,
    dropped_frames: null,
    rendition_label: '',
    renditions: [],
    fatal_errors: 0,
    errors: [],
    page_errors: [],
    console_errors: [],
    foreign_requests: [],
    requests: null,
    reason: '',
  };
}

main();
