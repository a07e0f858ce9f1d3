// Osprey's player page.
//
// It plays a live channel with hls.js (the default), with the browser's own
// HLS where Media Source Extensions are missing (iOS Safari), or with dash.js
// when the page was asked for ?player=dash. It shows the stream's state and
// the rendition on screen, waits and retries while the channel is idle, and
// keeps its state on window.osprey for tests:
//
//   window.osprey = {
//     channel, engine: 'hls' | 'native' | 'dash',
//     state: 'connecting' | 'waiting' | 'starting' | 'live' | 'playing' | 'ended' | 'error',
//     live: true | false | null, rendition: '720p', bitrate: 2800000,
//     renditions: ['360p', '720p'],   // every rendition shown so far
//     errors: [{time, engine, fatal, type, details, message, status}],
//   }
//
// The page's settings come from data- attributes on <body>; there is no
// inline script, so the page runs under a strict Content-Security-Policy.
(function () {
  'use strict';

  const IDLE_POLL_MS = 3000; // manifest 404: look for a publisher this often
  const ENDED_POLL_MS = 5000; // after the end: look for a new session this often
  const RETRY_MS = [2000, 4000, 8000, 15000]; // back-off after fatal errors
  const STALL_MS = 20000; // no playhead progress this long while playing: start again
  const KEPT_ERRORS = 100; // window.osprey.errors keeps every fatal one and the latest others
  const SHOWN_ERRORS = 5;
  const DASH_TIME_SCHEME = 'urn:mpeg:dash:utc:http-iso:2014';
  // dash.js error codes it recovers from by itself: time sync failed (16),
  // fragment loader failures (17, 18), segment download failed (27), timed
  // text parse (33).
  const DASH_NONFATAL = new Set([16, 17, 18, 27, 33]);

  const STATE_TEXT = {
    connecting: 'Connecting…',
    waiting: 'Waiting for the publisher…',
    starting: 'Starting…',
    live: 'Live',
    playing: 'Playing',
    ended: 'The stream has ended',
    error: 'Playback failed',
  };

  const body = document.body;
  const page = {
    channel: body.dataset.channel || '',
    engine: body.dataset.engine === 'dash' ? 'dash' : 'hls',
    hls: body.dataset.hls,
    dash: body.dataset.dash,
    time: new URL(body.dataset.time || '/time', location.href).href,
  };
  const video = document.getElementById('video');
  const stateEl = document.getElementById('state');
  const renditionEl = document.getElementById('rendition');
  const errorsEl = document.getElementById('errors');

  const osprey = {
    channel: page.channel,
    engine: page.engine,
    state: 'connecting',
    live: null,
    rendition: '',
    bitrate: 0,
    renditions: [],
    errors: [],
  };
  window.osprey = osprey;

  const manifestURL = page.engine === 'dash' ? page.dash : page.hls;
  let player = null; // {destroy()} around the engine in use
  let session = 0; // bumped by teardown: events of an old player are ignored
  let timer = 0;
  let failures = 0; // consecutive fatal errors, for the back-off
  let progressAt = 0; // when the playhead last moved, or the player started
  let lastTime = -1;
  let heightFromDecoder = () => false; // does the rendition name wait for the decoded height?

  function setState(state, text) {
    osprey.state = state;
    stateEl.dataset.state = state;
    stateEl.textContent = text || STATE_TEXT[state];
  }

  function formatBitrate(bps) {
    if (bps >= 1e6) return (bps / 1e6).toFixed(1) + ' Mb/s';
    return Math.round(bps / 1e3) + ' kb/s';
  }

  // renditionName prefers a real name ("720p", "source") over a number.
  function renditionName(name, height, bitrate) {
    if (name && !/^\d+$/.test(String(name))) return String(name);
    if (height > 0) return height + 'p';
    if (bitrate > 0) return formatBitrate(bitrate);
    return name ? String(name) : 'default';
  }

  function showRendition(name, bitrate) {
    osprey.rendition = name;
    osprey.bitrate = bitrate || 0;
    if (!osprey.renditions.includes(name)) osprey.renditions.push(name);
    renditionEl.textContent = bitrate > 0 ? name + ' · ' + formatBitrate(bitrate) : name;
  }

  function report(err) {
    const entry = Object.assign(
      { time: new Date().toISOString(), engine: osprey.engine, fatal: false, type: '', details: '', message: '' },
      err
    );
    const list = osprey.errors;
    list.push(entry);
    if (list.length > KEPT_ERRORS) {
      const minor = list.findIndex((e) => !e.fatal);
      list.splice(minor >= 0 ? minor : 0, 1);
    }
    const li = document.createElement('li');
    const what = [entry.type, entry.details].filter(Boolean).join(' / ');
    li.textContent =
      (entry.fatal ? '' : '(non-fatal) ') + what + (entry.message && entry.message !== entry.details ? ': ' + entry.message : '');
    errorsEl.prepend(li);
    while (errorsEl.children.length > SHOWN_ERRORS) errorsEl.lastElementChild.remove();
  }

  function teardown() {
    session++;
    clearTimeout(timer);
    heightFromDecoder = () => false;
    osprey.rendition = '';
    osprey.bitrate = 0;
    renditionEl.textContent = '';
    if (player) {
      const p = player;
      player = null;
      try {
        p.destroy();
      } catch (e) {
        report({ type: 'teardown', message: String((e && e.message) || e) });
      }
    }
  }

  function later(fn, ms) {
    clearTimeout(timer);
    timer = setTimeout(fn, ms);
  }

  // fatal records an error the engine cannot get over, drops the player and
  // starts again after a back-off (connect finds out whether the channel is
  // still there).
  function fatal(err) {
    report(Object.assign({}, err, { fatal: true }));
    teardown();
    failures++;
    const wait = RETRY_MS[Math.min(failures, RETRY_MS.length) - 1];
    setState('error', STATE_TEXT.error + ' — retrying in ' + Math.round(wait / 1000) + ' s');
    later(connect, wait);
  }

  // probe tells whether the channel's manifest is there and still live:
  // 'absent' (404: nobody is publishing), 'live' or 'finished'.
  async function probe() {
    const res = await fetch(manifestURL, { cache: 'no-store' });
    if (res.status === 404 || res.status === 410) return 'absent';
    if (!res.ok) throw new Error(manifestURL + ': HTTP ' + res.status);
    const text = await res.text();
    if (page.engine === 'dash') {
      return /\btype\s*=\s*["']dynamic["']/.test(text) ? 'live' : 'finished';
    }
    const variant = firstVariant(text);
    if (!variant) return text.includes('#EXT-X-ENDLIST') ? 'finished' : 'live';
    const media = await fetch(new URL(variant, res.url), { cache: 'no-store' });
    if (media.status === 404 || media.status === 410) return 'absent';
    if (!media.ok) throw new Error(variant + ': HTTP ' + media.status);
    return (await media.text()).includes('#EXT-X-ENDLIST') ? 'finished' : 'live';
  }

  function firstVariant(playlist) {
    const lines = playlist.split(/\r?\n/).map((l) => l.trim());
    const inf = lines.findIndex((l) => l.startsWith('#EXT-X-STREAM-INF'));
    if (inf < 0) return '';
    return lines.slice(inf + 1).find((l) => l && !l.startsWith('#')) || '';
  }

  async function connect() {
    clearTimeout(timer);
    const token = session;
    let found;
    try {
      found = await probe();
    } catch (e) {
      if (token !== session) return;
      report({ type: 'networkError', details: 'manifestProbe', message: String((e && e.message) || e) });
      setState('error', 'Cannot reach the stream — retrying');
      later(connect, IDLE_POLL_MS);
      return;
    }
    if (token !== session) return;
    if (found === 'absent') {
      setState('waiting');
      later(connect, IDLE_POLL_MS);
      return;
    }
    if (found === 'finished' && osprey.state === 'ended') {
      later(connect, ENDED_POLL_MS); // the same finished stream: wait for a new one
      return;
    }
    osprey.live = found === 'live';
    start();
  }

  function start() {
    teardown();
    setState('starting');
    progressAt = Date.now();
    lastTime = -1;
    const token = session;
    if (page.engine === 'dash') startDASH(token);
    else startHLS(token);
  }

  function startHLS(token) {
    const Hls = window.Hls;
    if (!(Hls && Hls.isSupported())) {
      if (video.canPlayType('application/vnd.apple.mpegurl')) {
        startNative(token);
        return;
      }
      fatal({ type: 'unsupported', message: 'this browser can play neither HLS nor Media Source Extensions' });
      return;
    }
    osprey.engine = 'hls';
    const hls = new Hls({
      liveSyncDurationCount: 3,
      liveMaxLatencyDurationCount: 10,
      backBufferLength: 30,
    });
    player = { destroy: () => hls.destroy() };
    let recoveredMedia = false;
    let levelHeightUnknown = false;
    heightFromDecoder = () => levelHeightUnknown;
    const mine = (fn) => (event, data) => {
      if (token === session) fn(data);
    };
    hls.on(
      Hls.Events.LEVEL_LOADED,
      mine((d) => {
        osprey.live = !!(d.details && d.details.live);
      })
    );
    hls.on(
      Hls.Events.LEVEL_SWITCHED,
      mine((d) => {
        const l = hls.levels[d.level];
        if (!l) return;
        const avg = l.attrs && parseInt(l.attrs['AVERAGE-BANDWIDTH'], 10);
        const bitrate = avg > 0 ? avg : l.bitrate;
        // A bare media playlist declares no resolution: the decoder will know
        // it (see the video's resize event).
        levelHeightUnknown = !l.height;
        const height = l.height || video.videoHeight;
        if (l.name || height || bitrate) showRendition(renditionName(l.name, height, bitrate), bitrate);
      })
    );
    hls.on(
      Hls.Events.ERROR,
      mine((d) => {
        const err = {
          fatal: !!d.fatal,
          type: d.type,
          details: d.details,
          message: d.error && d.error.message ? d.error.message : d.reason || '',
          status: d.response && d.response.code ? d.response.code : undefined,
        };
        if (!d.fatal) {
          report(err);
          return;
        }
        if (d.type === Hls.ErrorTypes.MEDIA_ERROR && !recoveredMedia) {
          recoveredMedia = true; // one attempt per session, as hls.js advises
          report(Object.assign(err, { fatal: false, message: (err.message || d.details) + ' (recovering)' }));
          hls.recoverMediaError();
          return;
        }
        fatal(err);
      })
    );
    hls.attachMedia(video);
    hls.loadSource(page.hls);
    autoplay(token);
  }

  function startNative(token) {
    osprey.engine = 'native';
    player = {
      destroy: () => {
        video.removeAttribute('src');
        video.load();
      },
    };
    video.src = page.hls;
    autoplay(token);
  }

  function startDASH(token) {
    osprey.engine = 'dash';
    const dashjs = window.dashjs;
    if (!dashjs) {
      fatal({ type: 'unsupported', message: 'dash.js did not load' });
      return;
    }
    if (!(window.MediaSource || window.ManagedMediaSource)) {
      fatal({ type: 'unsupported', message: 'DASH needs Media Source Extensions, which this browser lacks' });
      return;
    }
    const dash = dashjs.MediaPlayer().create();
    // Clock sync only against Osprey itself: the MPD's UTCTiming (/time) first,
    // then this same source as the default, then the MPD response's Date
    // header. dash.js's built-in default is an external time server.
    dash.updateSettings({
      debug: { logLevel: dashjs.Debug.LOG_LEVEL_WARNING },
      streaming: {
        utcSynchronization: {
          enabled: true,
          useManifestDateHeaderTimeSource: true,
          defaultTimingSource: { scheme: DASH_TIME_SCHEME, value: page.time },
        },
      },
    });
    player = { destroy: () => dash.destroy() };
    const E = dashjs.MediaPlayer.events;
    const mine = (fn) => (e) => {
      if (token === session) fn(e);
    };
    const hasVideo = () => {
      try {
        return dash.getRepresentationsByType('video').length > 0;
      } catch (e) {
        return true;
      }
    };
    dash.on(
      E.STREAM_INITIALIZED,
      mine(() => {
        osprey.live = dash.isDynamic();
      })
    );
    dash.on(
      E.QUALITY_CHANGE_RENDERED,
      mine((e) => {
        if (e.mediaType !== 'video' && !(e.mediaType === 'audio' && !hasVideo())) return;
        const r = e.newRepresentation;
        if (!r) return;
        showRendition(renditionName(r.id, r.height, r.bandwidth), r.bandwidth);
      })
    );
    dash.on(
      E.ERROR,
      mine((e) => {
        const err = (e && e.error) || {};
        const entry = { type: 'dashError', details: String(err.code || ''), message: String(err.message || '') };
        // dash.js carries on after these (it skips the segment, or uses the
        // device clock); if playback stops for good, the stall watchdog acts.
        if (DASH_NONFATAL.has(err.code)) report(entry);
        else fatal(entry);
      })
    );
    dash.on(
      E.PLAYBACK_ERROR,
      mine((e) => {
        const err = (e && e.error) || {};
        fatal({ type: 'mediaError', details: String(err.code || ''), message: String(err.message || '') });
      })
    );
    dash.on(E.PLAYBACK_NOT_ALLOWED, mine(() => playMuted(token)));
    dash.initialize(video, page.dash, true);
  }

  // autoplay starts playback once the first media is there; where the browser
  // refuses sound without a click, it starts muted.
  function autoplay(token) {
    video.addEventListener(
      'canplay',
      () => {
        if (token !== session || !video.paused) return;
        video.play().catch((e) => {
          if (e && e.name === 'NotAllowedError') playMuted(token);
        });
      },
      { once: true }
    );
  }

  function playMuted(token) {
    if (token !== session || video.muted) return;
    video.muted = true;
    renditionEl.title = 'Muted to start playing: unmute with the volume control';
    video.play().catch((e) => report({ type: 'autoplay', message: String((e && e.message) || e) }));
  }

  video.addEventListener('playing', () => {
    if (!player) return;
    failures = 0;
    setState(osprey.live === false ? 'playing' : 'live');
  });
  video.addEventListener('ended', () => {
    if (!player) return;
    teardown();
    setState('ended');
    later(connect, ENDED_POLL_MS);
  });
  video.addEventListener('play', () => {
    progressAt = Date.now(); // the watchdog counts from a resume, not from the pause
  });
  video.addEventListener('timeupdate', () => {
    if (video.currentTime !== lastTime) {
      lastTime = video.currentTime;
      progressAt = Date.now();
    }
  });
  // The stall watchdog: a player that neither plays nor was paused by the
  // viewer (paused with data ready means autoplay was refused) is restarted.
  setInterval(() => {
    if (!player || video.ended || Date.now() - progressAt < STALL_MS) return;
    const starting = osprey.state === 'starting';
    if (video.paused && !(starting && video.readyState < 3)) return;
    fatal({ type: 'stalled', message: 'no playback progress for ' + STALL_MS / 1000 + ' s' });
  }, 1000);
  video.addEventListener('resize', () => {
    if (!player || !(video.videoHeight > 0)) return;
    if (osprey.engine === 'native' || heightFromDecoder()) showRendition(video.videoHeight + 'p', osprey.bitrate);
  });
  video.addEventListener('error', () => {
    if (osprey.engine !== 'native' || !player) return;
    const err = video.error || {};
    fatal({ type: 'mediaError', details: String(err.code || ''), message: String(err.message || '') });
  });

  connect();
})();
