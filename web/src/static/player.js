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
//     dvr: null | {from, to, start},  // the DVR window (ISO times); start: the
//                                     // time-shifted start playing, null at live
//   }
//
// When the channel keeps a DVR window (its dvr-window.json, next to the
// manifests, answers), a seek bar spans the window: seeking loads the
// manifest with ?start= (hls.js begins at EXT-X-START, the span's start;
// dash.js at the MPD anchor #t=posix:), and the Live button returns to the
// plain, low-latency manifest.
//
// The engines, the state and the error list are common.js's (loaded first);
// this script adds what is live: probing the manifest, waiting for a
// publisher, muted autoplay, the stall watchdog and DASH clock sync.
//
// The page's settings come from data- attributes on <body>; there is no
// inline script, so the page runs under a strict Content-Security-Policy.
(function () {
  'use strict';

  const IDLE_POLL_MS = 3000; // manifest 404: look for a publisher this often
  const ENDED_POLL_MS = 5000; // after the end: look for a new session this often
  const STALL_MS = 20000; // no playhead progress this long while playing: start again
  const DASH_TIME_SCHEME = 'urn:mpeg:dash:utc:http-iso:2014';

  const STATE_TEXT = {
    connecting: 'Connecting…',
    waiting: 'Waiting for the publisher…',
    starting: 'Starting…',
    live: 'Live',
    playing: 'Playing',
    ended: 'The stream has ended',
    error: 'Playback failed',
  };

  const { createCore, renditionName, errorText } = window.OspreyCommon;
  const body = document.body;
  const page = {
    channel: body.dataset.channel || '',
    engine: body.dataset.engine === 'dash' ? 'dash' : 'hls',
    hls: body.dataset.hls,
    dash: body.dataset.dash,
    time: new URL(body.dataset.time || '/time', location.href).href,
  };
  const video = document.getElementById('video');
  const renditionEl = document.getElementById('rendition');

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

  const liveURLs = { hls: page.hls, dash: page.dash };
  const manifestURL = () => (page.engine === 'dash' ? page.dash : page.hls);
  const DVR_POLL_MS = 5000; // the DVR window moves: ask again this often
  const dvrEl = document.getElementById('dvr');
  const seek = document.getElementById('seek');
  const seekTime = document.getElementById('seek-time');
  const goLive = document.getElementById('go-live');
  const windowURL = new URL('dvr-window.json', new URL(page.hls, location.href)).href;
  let playingAt = null; // the program date time of the playhead (hls.js), a Date
  let progressAt = 0; // when the playhead last moved, or the player started
  let lastTime = -1;
  // The hls.js level declares no resolution (a bare media playlist): the
  // decoder will know it (see the video's resize event).
  let levelHeightUnknown = false;

  // Time-shifted playback (see shiftTo) plays at normal speed.
  const hlsConfig = { maxLiveSyncPlaybackRate: 1.2, backBufferLength: 30 };
  const core = createCore({
    osprey,
    video,
    els: { state: document.getElementById('state'), rendition: renditionEl, errors: document.getElementById('errors') },
    page,
    stateText: STATE_TEXT,
    reconnect: connect, // finds out whether the channel is still there
    onTeardown: () => {
      levelHeightUnknown = false;
    },
    hls: {
      // Low latency: hls.js holds PART-HOLD-BACK behind the live edge when
      // the playlist has parts (lowLatencyMode is its default; setting
      // liveSyncDurationCount, or liveMaxLatencyDurationCount which hls.js
      // only takes with it, would override that), three target durations
      // otherwise, and plays up to 20% faster to get back to it.
      config: hlsConfig,
      levelSwitched: (l, bitrate) => {
        levelHeightUnknown = !l.height;
        const height = l.height || video.videoHeight;
        if (l.name || height || bitrate) core.showRendition(renditionName(l.name, height, bitrate), bitrate);
      },
      setup: ({ hls, on, Events, token }) => {
        on(Events.LEVEL_LOADED, (d) => {
          osprey.live = !!(d.details && d.details.live);
          osprey.lowLatency = !!(d.details && d.details.partTarget);
        });
        // Latency: the wall clock less the program date time of the
        // playhead (Osprey's media time is the instant a frame reached
        // ingest), for tests and the curious.
        // Back to the live edge: hls.js only speeds up (1.2x) within a
        // target duration of its target latency; a player left further
        // behind (a slow start, a stall) would stay there, so one more
        // than two target durations late for 3 s jumps to where hls.js
        // would join. Not while time-shifted (the viewer chose the delay).
        let lateSince = 0;
        video.addEventListener('timeupdate', () => {
          const at = hls.playingDate;
          if (at) osprey.latency = (Date.now() - at.getTime()) / 1000;
          playingAt = at;
          const d = hls.levels && hls.levels[hls.currentLevel] && hls.levels[hls.currentLevel].details;
          const shifted = osprey.dvr && osprey.dvr.start;
          if (!d || !d.live || shifted || !(hls.targetLatency > 0) || !(hls.liveSyncPosition > 0)) {
            lateSince = 0;
            return;
          }
          if (hls.latency > hls.targetLatency + 2 * d.targetduration) {
            if (!lateSince) lateSince = Date.now();
            if (Date.now() - lateSince > 3000 && hls.liveSyncPosition > video.currentTime) {
              video.currentTime = hls.liveSyncPosition;
              osprey.liveJumps = (osprey.liveJumps || 0) + 1;
              lateSince = 0;
            }
          } else {
            lateSince = 0;
          }
        });
        autoplay(token);
      },
    },
    native: ({ token }) => {
      autoplay(token);
    },
    dash: {
      // Clock sync only against Osprey itself: the MPD's UTCTiming (/time)
      // first, then this same source as the default, then the MPD response's
      // Date header. dash.js's built-in default is an external time server.
      settings: {
        streaming: {
          utcSynchronization: {
            enabled: true,
            useManifestDateHeaderTimeSource: true,
            defaultTimingSource: { scheme: DASH_TIME_SCHEME, value: page.time },
          },
        },
      },
      autostart: true,
      setup: ({ dash, on, Events, token }) => {
        on(Events.STREAM_INITIALIZED, () => {
          osprey.live = dash.isDynamic();
          osprey.lowLatency = !!(dash.getLowLatencyModeEnabled && dash.getLowLatencyModeEnabled());
        });
        // Latency behind the producer clock (the MPD's and the chunks'
        // producer reference times), as dash.js computes it.
        on(Events.PLAYBACK_TIME_UPDATED, () => {
          const l = dash.getCurrentLiveLatency();
          if (l > 0) osprey.latency = l;
        });
        on(Events.PLAYBACK_NOT_ALLOWED, () => playMuted(token));
        // Seeking in the DVR window and back to live switch the source of
        // this same player: a new one on the same <video> can meet a
        // playback-rate change the old one deferred until the element was
        // ready, which dash.js then applies to its reset (null) element.
        return { load: (url) => dash.attachSource(url) };
      },
    },
  });

  // probe tells whether the channel's manifest is there and still live:
  // 'absent' (404: nobody is publishing), 'live' or 'finished'.
  async function probe() {
    const url = manifestURL();
    const res = await fetch(url.split('#')[0], { cache: 'no-store' });
    if (res.status === 404 || res.status === 410) return 'absent';
    if (!res.ok) throw new Error(url + ': HTTP ' + res.status);
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
    core.cancel();
    const token = core.session;
    let found;
    try {
      found = await probe();
    } catch (e) {
      if (token !== core.session) return;
      core.report({ type: 'networkError', details: 'manifestProbe', message: errorText(e) });
      core.setState('error', 'Cannot reach the stream — retrying');
      core.later(connect, IDLE_POLL_MS);
      return;
    }
    if (token !== core.session) return;
    if (found === 'absent') {
      core.setState('waiting');
      core.later(connect, IDLE_POLL_MS);
      return;
    }
    if (found === 'finished' && osprey.state === 'ended') {
      core.later(connect, ENDED_POLL_MS); // the same finished stream: wait for a new one
      return;
    }
    osprey.live = found === 'live';
    start();
  }

  function start() {
    progressAt = Date.now();
    lastTime = -1;
    core.start();
  }

  // autoplay starts playback once the first media is there; where the browser
  // refuses sound without a click, it starts muted.
  function autoplay(token) {
    video.addEventListener(
      'canplay',
      () => {
        if (token !== core.session || !video.paused) return;
        video.play().catch((e) => {
          if (e && e.name === 'NotAllowedError') playMuted(token);
        });
      },
      { once: true }
    );
  }

  function playMuted(token) {
    if (token !== core.session || video.muted) return;
    video.muted = true;
    renditionEl.title = 'Muted to start playing: unmute with the volume control';
    video.play().catch((e) => core.report({ type: 'autoplay', message: errorText(e) }));
  }

  video.addEventListener('playing', () => {
    if (!core.player) return;
    core.failures = 0;
    core.setState(osprey.live === false || (osprey.dvr && osprey.dvr.start) ? 'playing' : 'live');
  });
  video.addEventListener('ended', () => {
    if (!core.player) return;
    if (osprey.dvr && osprey.dvr.start) {
      toLive(); // the end of a recorded session: back to the live edge
      return;
    }
    core.teardown();
    core.setState('ended');
    core.later(connect, ENDED_POLL_MS);
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
    if (!core.player || video.ended || Date.now() - progressAt < STALL_MS) return;
    const starting = osprey.state === 'starting';
    if (video.paused && !(starting && video.readyState < 3)) return;
    core.fatal({ type: 'stalled', message: 'no playback progress for ' + STALL_MS / 1000 + ' s' });
  }, 1000);
  video.addEventListener('resize', () => {
    if (!core.player || !(video.videoHeight > 0)) return;
    if (osprey.engine === 'native' || levelHeightUnknown) core.showRendition(video.videoHeight + 'p', osprey.bitrate);
  });

  // The DVR window: the seek bar and the Live button.
  async function loadWindow() {
    try {
      const res = await fetch(windowURL, { cache: 'no-store' });
      if (!res.ok) {
        if (!osprey.dvr) dvrEl.hidden = true;
        return;
      }
      const w = await res.json();
      const from = Date.parse(w.from);
      const to = Date.parse(w.to);
      if (!(to > from)) return;
      osprey.dvr = Object.assign(osprey.dvr || { start: null }, { from: w.from, to: w.to });
      seek.max = String(Math.floor((to - from) / 1000));
      dvrEl.hidden = false;
      showPosition();
    } catch (e) {
      // No window this time: the bar keeps its last one.
    }
  }

  // showPosition puts the seek bar at the playhead (at its end when live).
  function showPosition() {
    if (!osprey.dvr || document.activeElement === seek && seek.dataset.dragging) return;
    const from = Date.parse(osprey.dvr.from);
    let at = Date.parse(osprey.dvr.to);
    if (osprey.dvr.start) at = playingAt ? playingAt.getTime() : Date.parse(osprey.dvr.start);
    seek.value = String(Math.round((at - from) / 1000));
    label(at);
  }

  // label names the bar's position: the clock time of at, or "Live".
  function label(at, shifted = !!osprey.dvr.start) {
    const behind = Math.max(0, Math.round((Date.parse(osprey.dvr.to) - at) / 1000));
    const clock = new Date(at).toLocaleTimeString();
    seekTime.value = shifted ? clock : 'Live';
    seek.setAttribute('aria-valuetext', shifted ? clock + ', ' + behind + ' s behind live' : 'Live');
    goLive.setAttribute('aria-pressed', osprey.dvr.start ? 'false' : 'true');
  }

  function shiftTo(at) {
    const d = new Date(at);
    const iso = d.toISOString();
    osprey.dvr.start = iso;
    playingAt = null;
    const q = '?start=' + iso;
    hlsConfig.maxLiveSyncPlaybackRate = 1;
    page.hls = liveURLs.hls.split('?')[0] + q;
    page.dash = liveURLs.dash.split('?')[0] + q + '#t=posix:' + Math.floor(d.getTime() / 1000);
    label(at);
    load();
  }

  // load plays the page's manifest URL: in the DASH player in use when
  // there is one (see the dash setup), else through a new player.
  function load() {
    if (page.engine === 'dash' && core.player && core.player.load) {
      progressAt = Date.now();
      lastTime = -1;
      core.setState('starting');
      core.player.load(page.dash);
      return;
    }
    connect();
  }

  function toLive() {
    if (osprey.dvr) osprey.dvr.start = null;
    playingAt = null;
    hlsConfig.maxLiveSyncPlaybackRate = 1.2;
    page.hls = liveURLs.hls;
    page.dash = liveURLs.dash;
    showPosition();
    load();
  }

  seek.addEventListener('input', () => {
    seek.dataset.dragging = '1';
    label(Date.parse(osprey.dvr.from) + Number(seek.value) * 1000, true);
  });
  seek.addEventListener('change', () => {
    delete seek.dataset.dragging;
    const from = Date.parse(osprey.dvr.from);
    const to = Date.parse(osprey.dvr.to);
    const at = from + Number(seek.value) * 1000;
    // The last few seconds are the live edge itself.
    if (to - at < 5000) toLive();
    else shiftTo(Math.max(at, from + 1000)); // a little inside: the window moves on
  });
  goLive.addEventListener('click', () => {
    if (osprey.dvr && osprey.dvr.start) toLive();
  });
  video.addEventListener('timeupdate', () => {
    if (osprey.dvr && osprey.dvr.start) showPosition();
  });

  loadWindow();
  setInterval(loadWindow, DVR_POLL_MS);
  connect();
})();
