// Osprey's on-demand player page (/watch/vod/{asset}).
//
// It plays an asset with hls.js (the default), the browser's own HLS where
// Media Source Extensions are missing, or dash.js when the page was asked for
// ?player=dash. Under the video, a scrub bar shows the thumbnail of the time
// under the pointer (from the asset's WebVTT thumbnails track, cropped out of
// the sprite sheets with background-position). A quality menu and a subtitles
// menu list what the manifest offers. While the manifest answers 404 the page
// says the video is not ready yet or does not exist, and asks again every few
// seconds. Its state is on window.osprey, with the same fields as the live
// player page's where they mean the same, for tests:
//
//   window.osprey = {
//     asset, kind: 'vod', live: false, engine: 'hls' | 'native' | 'dash',
//     state: 'connecting' | 'waiting' | 'starting' | 'paused' | 'playing' | 'ended' | 'error',
//     rendition: '720p', bitrate: 2800000, renditions: ['360p', '720p'],  // shown so far
//     qualities: ['360p', '720p'], quality: 'auto' | '720p',
//     subtitles: [{label, lang}], subtitle: -1 | index,
//     duration: 0, thumbnails: 0,   // seconds; thumbnail cues parsed
//     errors: [{time, engine, fatal, type, details, message, status}],
//   }
//
// The engines, the state and the error list are common.js's (loaded first);
// this script adds what is on-demand: the not-ready notice, the menus, the
// scrub bar with thumbnails, resuming after a restart and autoplay.
//
// The page's settings come from data- attributes on <body>; there is no
// inline script, so the page runs under a strict Content-Security-Policy.
(function () {
  'use strict';

  const ABSENT_POLL_MS = 4000; // manifest 404: ask again this often
  const KEY_SEEK_S = 5;

  const STATE_TEXT = {
    connecting: 'Connecting…',
    waiting: 'Not ready',
    starting: 'Loading…',
    paused: 'Paused',
    playing: 'Playing',
    ended: 'Ended',
    error: 'Playback failed',
  };

  const { createCore, renditionName, errorText } = window.OspreyCommon;
  const $ = (id) => document.getElementById(id);
  const body = document.body;
  const page = {
    asset: body.dataset.asset || '',
    engine: body.dataset.engine === 'dash' ? 'dash' : 'hls',
    hls: body.dataset.hls,
    dash: body.dataset.dash,
    thumbnails: body.dataset.thumbnails,
    autoplay: body.dataset.autoplay !== 'false',
  };
  const video = $('video');
  const el = {
    state: $('state'),
    time: $('time'),
    rendition: $('rendition'),
    errors: $('errors'),
    notice: $('notice'),
    quality: $('quality'),
    subtitles: $('subtitles'),
    scrub: $('scrub'),
    buffered: $('scrub-buffered'),
    played: $('scrub-played'),
    preview: $('preview'),
    previewImage: $('preview-image'),
    previewTime: $('preview-time'),
  };

  const osprey = {
    asset: page.asset,
    kind: 'vod',
    live: false,
    engine: page.engine,
    state: 'connecting',
    rendition: '',
    bitrate: 0,
    renditions: [],
    qualities: [],
    quality: 'auto',
    subtitles: [],
    subtitle: -1,
    duration: 0,
    thumbnails: 0,
    errors: [],
  };
  window.osprey = osprey;

  const manifestURL = page.engine === 'dash' ? page.dash : page.hls;
  let resumeAt = 0; // where to continue after a restart
  let wantPlay = page.autoplay; // start (again) by itself: until the viewer pauses
  let cues = []; // thumbnail cues: {start, end, url, x, y, w, h}

  // The player carries the menus' controls: setQuality(i), setSubtitle(i).
  const core = createCore({
    osprey,
    video,
    els: el,
    page,
    stateText: STATE_TEXT,
    reconnect: connect,
    onFatal: () => {
      if (video.currentTime > 0) resumeAt = video.currentTime; // start again where playback was
    },
    onTeardown: () => {
      setQualities([]);
      setSubtitles([], -1);
    },
    hls: {
      config: { backBufferLength: 60 },
      levelSwitched: (l, bitrate) => core.showRendition(renditionName(l.name, l.height || video.videoHeight, bitrate), bitrate),
      setup: hlsMenus,
    },
    native: nativeMenus,
    dash: {
      autostart: false,
      setup: (ctx) => {
        ctx.on(ctx.Events.PLAYBACK_NOT_ALLOWED, () => core.setState('paused', 'Press play to start'));
        return dashMenus(ctx);
      },
    },
  });

  // ---- menus ----

  function fillMenu(select, first, labels, selected) {
    select.replaceChildren();
    const head = document.createElement('option');
    head.value = first.value;
    head.textContent = first.label;
    select.append(head);
    labels.forEach((label, i) => {
      const o = document.createElement('option');
      o.value = String(i);
      o.textContent = label;
      select.append(o);
    });
    select.value = selected >= 0 ? String(selected) : first.value;
    select.disabled = labels.length === 0;
  }

  function setQualities(list) {
    osprey.qualities = list.map((q) => q.label);
    osprey.quality = 'auto';
    fillMenu(el.quality, { value: 'auto', label: 'Auto' }, osprey.qualities, -1);
  }

  function setSubtitles(list, selected) {
    osprey.subtitles = list.map((t) => ({ label: t.label, lang: t.lang }));
    osprey.subtitle = selected;
    fillMenu(el.subtitles, { value: 'off', label: 'Off' }, osprey.subtitles.map((t) => t.label), selected);
  }

  function trackLabel(t, i) {
    return t.name || t.label || t.lang || 'Track ' + (i + 1);
  }

  el.quality.addEventListener('change', () => {
    if (!core.player) return;
    const i = el.quality.value === 'auto' ? -1 : Number(el.quality.value);
    osprey.quality = i < 0 ? 'auto' : osprey.qualities[i];
    core.player.setQuality(i);
  });
  el.subtitles.addEventListener('change', () => {
    if (!core.player) return;
    const i = el.subtitles.value === 'off' ? -1 : Number(el.subtitles.value);
    osprey.subtitle = i;
    core.player.setSubtitle(i);
  });

  // hlsMenus fills the menus from hls.js's levels and subtitle tracks.
  function hlsMenus({ hls, Events, on }) {
    on(Events.MANIFEST_PARSED, () => {
      setQualities(hls.levels.map((l) => ({ label: renditionName(l.name, l.height, l.bitrate) })));
    });
    on(Events.SUBTITLE_TRACKS_UPDATED, (d) => {
      const tracks = (d && d.subtitleTracks) || hls.subtitleTracks || [];
      setSubtitles(tracks.map((t, i) => ({ label: trackLabel(t, i), lang: t.lang || '' })), hls.subtitleTrack);
    });
    on(Events.SUBTITLE_TRACK_SWITCH, (d) => {
      osprey.subtitle = d.id;
      el.subtitles.value = d.id >= 0 ? String(d.id) : 'off';
    });
    return {
      setQuality: (i) => {
        hls.currentLevel = i;
      },
      setSubtitle: (i) => {
        hls.subtitleDisplay = i >= 0;
        hls.subtitleTrack = i;
      },
    };
  }

  // nativeMenus lists the browser's own text tracks; it picks the quality itself.
  function nativeMenus({ token }) {
    const tracks = () => Array.from(video.textTracks).filter((t) => t.kind === 'subtitles' || t.kind === 'captions');
    const listTracks = () => {
      if (token !== core.session) return;
      const list = tracks();
      setSubtitles(
        list.map((t, i) => ({ label: trackLabel(t, i), lang: t.language || '' })),
        list.findIndex((t) => t.mode === 'showing')
      );
    };
    video.textTracks.addEventListener('addtrack', listTracks);
    return {
      destroy: () => video.textTracks.removeEventListener('addtrack', listTracks),
      setQuality: () => {}, // Safari chooses by itself
      setSubtitle: (i) => tracks().forEach((t, j) => (t.mode = j === i ? 'showing' : 'disabled')),
    };
  }

  // dashMenus fills the menus from dash.js's video representations and text tracks.
  function dashMenus({ dash, Events, on }) {
    let videoReps = [];
    const abr = (enabled) => dash.updateSettings({ streaming: { abr: { autoSwitchBitrate: { video: enabled } } } });
    on(Events.STREAM_INITIALIZED, () => {
      try {
        videoReps = dash.getRepresentationsByType('video').slice().sort((a, b) => a.bandwidth - b.bandwidth);
      } catch (e) {
        videoReps = [];
      }
      setQualities(videoReps.map((r) => ({ label: renditionName(r.id, r.height, r.bandwidth) })));
    });
    on(Events.TEXT_TRACKS_ADDED, (e) => {
      const tracks = (e && e.tracks) || [];
      const label = (t, i) => {
        const l = Array.isArray(t.labels) && t.labels[0] ? t.labels[0].text || t.labels[0] : '';
        return String(l || t.lang || 'Track ' + (i + 1));
      };
      setSubtitles(
        tracks.map((t, i) => ({ label: label(t, i), lang: t.lang || '' })),
        dash.isTextEnabled() && e.index >= 0 ? e.index : -1
      );
    });
    return {
      setQuality: (i) => {
        if (i < 0 || !videoReps[i]) {
          abr(true);
          return;
        }
        abr(false);
        dash.setRepresentationForTypeById('video', videoReps[i].id, true);
      },
      setSubtitle: (i) => {
        dash.enableText(i >= 0);
        if (i >= 0) dash.setTextTrack(i);
      },
    };
  }

  // ---- lifecycle ----

  // connect checks that the manifest is there before handing it to a player,
  // so that a missing or unfinished asset gets a clear message, not an error.
  async function connect() {
    core.cancel();
    const token = core.session;
    let res;
    try {
      res = await fetch(manifestURL, { cache: 'no-store' });
    } catch (e) {
      if (token !== core.session) return;
      core.report({ type: 'networkError', details: 'manifestProbe', message: errorText(e) });
      core.setState('error', 'Cannot reach the server — retrying');
      core.later(connect, ABSENT_POLL_MS);
      return;
    }
    if (token !== core.session) return;
    if (res.status === 404 || res.status === 410) {
      el.notice.hidden = false;
      core.setState('waiting');
      core.later(connect, ABSENT_POLL_MS);
      return;
    }
    if (!res.ok) {
      core.report({ type: 'networkError', details: 'manifestProbe', message: manifestURL + ': HTTP ' + res.status, status: res.status });
      core.setState('error', 'The server answered HTTP ' + res.status + ' — retrying');
      core.later(connect, ABSENT_POLL_MS);
      return;
    }
    el.notice.hidden = true;
    loadThumbnails();
    start();
  }

  function start() {
    const token = core.start();
    if (resumeAt > 0) {
      const at = resumeAt;
      video.addEventListener('loadedmetadata', () => token === core.session && (video.currentTime = at), { once: true });
    }
    video.addEventListener('canplay', () => token === core.session && autoplay(), { once: true });
  }

  // autoplay starts playback where the browser allows it; where it wants a
  // click first, the poster stays up and the page says so.
  function autoplay() {
    if (!wantPlay || !video.paused) return;
    video.play().catch((e) => {
      if (e && e.name === 'NotAllowedError') core.setState('paused', 'Press play to start');
    });
  }

  // ---- thumbnails ----

  // parseVTT reads "start --> end" cues whose text is an image URL, with an
  // optional "#xywh=x,y,w,h" fragment; URLs resolve against base.
  function parseVTT(text, base) {
    const out = [];
    const blocks = text.replace(/\r\n?/g, '\n').split(/\n{2,}/);
    for (const block of blocks) {
      const lines = block.split('\n').filter((l) => l.trim() !== '');
      const at = lines.findIndex((l) => l.includes('-->'));
      if (at < 0 || !lines[at + 1]) continue;
      const [a, b] = lines[at].split('-->');
      const start = vttTime(a);
      const end = vttTime(b);
      if (isNaN(start) || isNaN(end)) continue;
      const ref = lines[at + 1].trim();
      const hash = ref.indexOf('#');
      const cue = { start, end, url: new URL(hash >= 0 ? ref.slice(0, hash) : ref, base).href, x: 0, y: 0, w: 0, h: 0 };
      const m = hash >= 0 && /xywh=(?:pixel:)?(\d+),(\d+),(\d+),(\d+)/.exec(ref.slice(hash + 1));
      if (m) [cue.x, cue.y, cue.w, cue.h] = m.slice(1).map(Number);
      out.push(cue);
    }
    return out.sort((p, q) => p.start - q.start);
  }

  // vttTime reads "hh:mm:ss.ttt" or "mm:ss.ttt" (followed by cue settings).
  function vttTime(s) {
    const t = String(s).trim().split(/\s+/)[0];
    const parts = t.split(':').map(Number);
    if (parts.length < 2 || parts.length > 3 || parts.some((p) => isNaN(p))) return NaN;
    return parts.reduce((acc, p) => acc * 60 + p, 0);
  }

  function cueAt(t) {
    let lo = 0;
    let hi = cues.length - 1;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (cues[mid].end <= t) lo = mid + 1;
      else if (cues[mid].start > t) hi = mid - 1;
      else return cues[mid];
    }
    return cues.length && t >= cues[cues.length - 1].start ? cues[cues.length - 1] : null;
  }

  let thumbnailsLoaded = false;
  async function loadThumbnails() {
    if (thumbnailsLoaded || !page.thumbnails) return;
    thumbnailsLoaded = true;
    try {
      const res = await fetch(page.thumbnails);
      if (!res.ok) return; // audio-only assets have none
      cues = parseVTT(await res.text(), res.url);
      osprey.thumbnails = cues.length;
    } catch (e) {
      core.report({ type: 'thumbnails', message: errorText(e) });
    }
  }

  // ---- scrub bar ----

  let dragging = false;

  function formatTime(s) {
    if (!(s >= 0) || !isFinite(s)) s = 0;
    s = Math.floor(s);
    const h = Math.floor(s / 3600);
    const m = Math.floor(s / 60) % 60;
    const sec = String(s % 60).padStart(2, '0');
    return h > 0 ? h + ':' + String(m).padStart(2, '0') + ':' + sec : m + ':' + sec;
  }

  function duration() {
    const d = video.duration;
    return isFinite(d) && d > 0 ? d : 0;
  }

  function timeAtPointer(ev) {
    const r = el.scrub.getBoundingClientRect();
    const f = r.width > 0 ? Math.min(1, Math.max(0, (ev.clientX - r.left) / r.width)) : 0;
    return { t: f * duration(), x: f * r.width, width: r.width };
  }

  function showPreview(ev) {
    const d = duration();
    if (!d) return;
    const p = timeAtPointer(ev);
    const cue = cueAt(p.t);
    const img = el.previewImage;
    if (cue && cue.w > 0) {
      img.classList.add('has-image');
      img.style.width = cue.w + 'px';
      img.style.height = cue.h + 'px';
      img.style.backgroundImage = 'url("' + cue.url.replace(/"/g, '%22') + '")';
      img.style.backgroundPosition = -cue.x + 'px ' + -cue.y + 'px';
    } else {
      img.classList.remove('has-image');
    }
    el.previewTime.textContent = formatTime(p.t);
    el.preview.hidden = false;
    const half = (cue && cue.w > 0 ? cue.w : 40) / 2;
    el.preview.style.left = Math.min(p.width - half, Math.max(half, p.x)) + 'px';
    return p.t;
  }

  function hidePreview() {
    if (!dragging) el.preview.hidden = true;
  }

  function drawProgress(t) {
    const d = duration();
    const shown = dragging && t !== undefined ? t : video.currentTime;
    el.played.style.width = d ? (shown / d) * 100 + '%' : '0';
    let end = 0;
    for (let i = 0; i < video.buffered.length; i++) {
      if (video.buffered.start(i) <= video.currentTime + 0.5) end = Math.max(end, video.buffered.end(i));
    }
    el.buffered.style.width = d ? (Math.min(end, d) / d) * 100 + '%' : '0';
    el.time.textContent = formatTime(shown) + ' / ' + formatTime(Math.round(d));
    el.scrub.setAttribute('aria-valuemax', String(Math.round(d)));
    el.scrub.setAttribute('aria-valuenow', String(Math.round(shown)));
    el.scrub.setAttribute('aria-valuetext', formatTime(shown));
  }

  el.scrub.addEventListener('pointermove', (ev) => {
    const t = showPreview(ev);
    if (dragging && t !== undefined) drawProgress(t);
  });
  el.scrub.addEventListener('pointerleave', hidePreview);
  el.scrub.addEventListener('pointerdown', (ev) => {
    if (!duration() || ev.button !== 0) return;
    dragging = true;
    el.scrub.classList.add('dragging');
    el.scrub.setPointerCapture(ev.pointerId);
    drawProgress(showPreview(ev));
  });
  const endDrag = (ev, seek) => {
    if (!dragging) return;
    dragging = false;
    el.scrub.classList.remove('dragging');
    if (seek) video.currentTime = timeAtPointer(ev).t;
    el.preview.hidden = true;
    drawProgress();
  };
  el.scrub.addEventListener('pointerup', (ev) => endDrag(ev, true));
  el.scrub.addEventListener('pointercancel', (ev) => endDrag(ev, false));
  el.scrub.addEventListener('keydown', (ev) => {
    const d = duration();
    if (!d) return;
    const to = { ArrowLeft: -KEY_SEEK_S, ArrowRight: KEY_SEEK_S, Home: -Infinity, End: Infinity }[ev.key];
    if (to === undefined) return;
    ev.preventDefault();
    video.currentTime = Math.min(d, Math.max(0, video.currentTime + to));
  });

  // ---- video events ----

  video.addEventListener('timeupdate', () => drawProgress());
  video.addEventListener('progress', () => drawProgress());
  video.addEventListener('durationchange', () => {
    osprey.duration = duration();
    drawProgress();
  });
  video.addEventListener('playing', () => {
    if (!core.player) return;
    core.failures = 0;
    core.setState('playing');
  });
  video.addEventListener('play', () => {
    wantPlay = true;
  });
  video.addEventListener('pause', () => {
    if (!core.player || video.ended) return;
    // A pause while seeking or stalled is the browser's; only the viewer's counts.
    if (osprey.state === 'playing') wantPlay = false;
    core.setState('paused');
  });
  video.addEventListener('ended', () => {
    if (core.player) core.setState('ended');
  });
  video.addEventListener('canplay', () => {
    if (core.player && osprey.state === 'starting') core.setState('paused', 'Ready');
  });
  video.addEventListener('resize', () => {
    if (core.player && osprey.engine === 'native' && video.videoHeight > 0) core.showRendition(video.videoHeight + 'p', 0);
  });

  connect();
})();
