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

  const manifestURL = page.engine === 'dash' ? page.dash : page.hls;
  let progressAt = 0; // when the playhead last moved, or the player started
  let lastTime = -1;
  // The hls.js level declares no resolution (a bare media playlist): the
  // decoder will know it (see the video's resize event).
  let levelHeightUnknown = false;

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
      config: { maxLiveSyncPlaybackRate: 1.2, backBufferLength: 30 },
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
        video.addEventListener('timeupdate', () => {
          const at = hls.playingDate;
          if (at) osprey.latency = (Date.now() - at.getTime()) / 1000;
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
      },
    },
  });

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
    core.setState(osprey.live === false ? 'playing' : 'live');
  });
  video.addEventListener('ended', () => {
    if (!core.player) return;
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

  connect();
})();
