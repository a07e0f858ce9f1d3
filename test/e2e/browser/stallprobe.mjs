// stallprobe.mjs: a diagnostic, not a test. Plays a watch page with hls.js
// (its debug log captured), records every request with its timing and the
// playhead every 250 ms, and prints each stall (the playhead stuck over 1 s)
// with the requests and the hls.js log around it.
//
//   node stallprobe.mjs http://127.0.0.1:8080/watch/CHANNEL?player=hls [SECONDS]
//
// See notes/issue11/stalls.md for what it found.
import { withChromium } from './chromium.mjs';
const url = process.argv[2];
const seconds = Number(process.argv[3] || 60);
const reqs = [];
const t0 = Date.now();
await withChromium({ chromium: '/usr/bin/chromium' }, Date.now() + 120000, async (ctx) => {
  const page = await ctx.newPage();
  const open = new Map();
  page.on('request', (r) => { open.set(r, { url: r.url().replace(/^https?:\/\/[^/]+/, ''), start: Date.now() - t0 }); });
  page.on('requestfinished', (r) => { const o = open.get(r); if (o) { o.end = Date.now() - t0; reqs.push(o); open.delete(r); } });
  page.on('requestfailed', (r) => { const o = open.get(r); if (o) { o.end = Date.now() - t0; o.failed = r.failure()?.errorText; reqs.push(o); open.delete(r); } });
  await page.addInitScript(() => {
    window.__hlslog = [];
    let wrapped;
    Object.defineProperty(window, 'Hls', {
      configurable: true,
      get: () => wrapped,
      set: (Hls) => {
        wrapped = typeof Hls === 'function' ? class extends Hls {
          constructor(config) {
            const rec = (lvl) => (...a) => window.__hlslog.push([Date.now(), lvl, a.map(String).join(' ').slice(0, 300)]);
            super(Object.assign({}, config, { debug: { trace: () => {}, debug: rec('D'), log: rec('L'), info: rec('I'), warn: rec('W'), error: rec('E') } }));
          }
        } : Hls;
      },
    });
  });
  await page.goto(url);
  const samples = [];
  let stuck = 0, prevT = -1;
  const stalls = [];
  for (let i = 0; i < seconds * 4; i++) {
    await page.waitForTimeout(250);
    const t = await page.evaluate(() => { const v = document.querySelector('video'); return v ? [v.currentTime, v.buffered.length ? v.buffered.end(v.buffered.length - 1) : 0] : [0, 0]; });
    const now = Date.now() - t0;
    if (t[0] === prevT && t[0] > 0) { if (!stuck) stuck = now - 250; } else if (stuck) { if (now - stuck > 1000) stalls.push([stuck, now, prevT]); stuck = 0; }
    prevT = t[0];
    samples.push([now, t[0], t[1]]);
  }
  for (const [o] of open) reqs.push({ ...open.get(o), end: -1 });
  console.log(JSON.stringify({ stalls }));
  const logs = await page.evaluate(() => window.__hlslog);
  for (const [a, b, at] of stalls) {
    console.log(`STALL ${a}..${b} ms at media ${at}`);
    for (const r of reqs) if (r.start < b && (r.end < 0 || r.end > a - 3000) && r.start > a - 6000) console.log(`  ${r.start}-${r.end} (${r.end < 0 ? 'open' : r.end - r.start} ms) ${r.failed || ''} ${r.url}`);
    for (const l of logs) if (l[0] - t0 > a - 2500 && l[0] - t0 < a + 1500) console.log(`   LOG ${l[0] - t0} ${l[1]} ${l[2]}`);
    for (const s of samples) if (s[0] > a - 3000 && s[0] < b + 1000) console.log(`   t=${s[0]} cur=${s[1].toFixed(3)} buf=${s[2].toFixed(3)}`);
  }
});
