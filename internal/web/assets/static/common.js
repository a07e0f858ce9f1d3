// What Osprey's two player pages share: the live page (player.js) and the
// on-demand page (vod.js) load this script first, each with a plain deferred
// <script src>, and build on window.OspreyCommon.
//
// createCore runs one video element with one engine at a time: hls.js, the
// browser's own HLS where Media Source Extensions are missing (iOS Safari),
// or dash.js when the page was asked for ?player=dash. It keeps the page's
// state object (window.osprey: engine, state, rendition, bitrate,
// renditions, errors) and the elements that show it, drops an old player's
// events by session, and starts again with a back-off after a fatal error.
// What differs between the pages comes in as options: the engines' settings,
// the extra events each page listens to and the controls it adds to the
// player (a quality or subtitle menu), and hooks on teardown and fatal errors.
(function () {
  'use strict';

  const RETRY_MS = [2000, 4000, 8000, 15000]; // back-off after fatal errors
  const KEPT_ERRORS = 100; // osprey.errors keeps every fatal one and the latest others
  const SHOWN_ERRORS = 5;
  // dash.js error codes it recovers from by itself: time sync failed (16),
  // fragment loader failures (17, 18), segment download failed (27), timed
  // text parse (33).
  const DASH_NONFATAL = new Set([16, 17, 18, 27, 33]);

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

  // errorText is the message of a thrown value, whatever it is.
  function errorText(e) {
    return String((e && e.message) || e);
  }

  // engineError is an error entry from a media error object ({code, message}).
  function engineError(type, err) {
    const e = err || {};
    return { type: type, details: String(e.code || ''), message: String(e.message || '') };
  }

  // withDestroy returns the page's controls with destroy running the page's
  // own destroy (if any) and then the engine's.
  function withDestroy(controls, destroy) {
    const c = controls || {};
    return Object.assign({}, c, {
      destroy: () => {
        if (c.destroy) c.destroy();
        destroy();
      },
    });
  }

  // createCore takes:
  //   osprey     the page's state object (window.osprey), updated in place;
  //   video      the <video> element;
  //   els        {state, rendition, errors}: the elements that show the state;
  //   page       {engine: 'hls' | 'dash', hls, dash}: the engine asked for and the manifests;
  //   stateText  the label of each state;
  //   reconnect  what to run after the back-off that follows a fatal error;
  //   onFatal()  runs after a fatal error is recorded, before the teardown (optional);
  //   onTeardown()  runs on every teardown, before the player is destroyed (optional);
  //   hls        {config, levelSwitched(level, bitrate), setup({hls, Events, on, token})};
  //   native     ({token}) => controls (optional);
  //   dash       {settings, autostart, setup({dash, dashjs, Events, on, token})}.
  // setup and native return the controls the page adds to the player (such as
  // setQuality(i), or a destroy of their own); on(event, fn) listens to the
  // engine for this session only. The returned core holds player (null
  // between players), session and failures (consecutive fatal errors).
  function createCore(o) {
    const osprey = o.osprey;
    const video = o.video;
    const els = o.els;
    let timer = 0;

    const core = {
      player: null, // {destroy(), ...the page's controls} around the engine in use
      session: 0, // bumped by teardown: events of an old player are ignored
      failures: 0,
      setState,
      showRendition,
      report,
      later,
      cancel,
      teardown,
      fatal,
      start,
    };

    function setState(state, text) {
      osprey.state = state;
      els.state.dataset.state = state;
      els.state.textContent = text || o.stateText[state];
    }

    function showRendition(name, bitrate) {
      osprey.rendition = name;
      osprey.bitrate = bitrate || 0;
      if (!osprey.renditions.includes(name)) osprey.renditions.push(name);
      els.rendition.textContent = bitrate > 0 ? name + ' · ' + formatBitrate(bitrate) : name;
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
      els.errors.prepend(li);
      while (els.errors.children.length > SHOWN_ERRORS) els.errors.lastElementChild.remove();
    }

    function later(fn, ms) {
      clearTimeout(timer);
      timer = setTimeout(fn, ms);
    }

    // cancel drops what later scheduled.
    function cancel() {
      clearTimeout(timer);
    }

    function teardown() {
      core.session++;
      clearTimeout(timer);
      osprey.rendition = '';
      osprey.bitrate = 0;
      els.rendition.textContent = '';
      if (o.onTeardown) o.onTeardown();
      if (core.player) {
        const p = core.player;
        core.player = null;
        try {
          p.destroy();
        } catch (e) {
          report({ type: 'teardown', message: errorText(e) });
        }
      }
    }

    // fatal records an error the engine cannot get over, drops the player and
    // starts again after a back-off.
    function fatal(err) {
      report(Object.assign({}, err, { fatal: true }));
      if (o.onFatal) o.onFatal();
      teardown();
      core.failures++;
      const wait = RETRY_MS[Math.min(core.failures, RETRY_MS.length) - 1];
      setState('error', o.stateText.error + ' — retrying in ' + Math.round(wait / 1000) + ' s');
      later(o.reconnect, wait);
    }

    // start drops the player in use and starts the engine the page asked
    // for; it returns the new session.
    function start() {
      teardown();
      setState('starting');
      const token = core.session;
      if (o.page.engine === 'dash') startDASH(token);
      else startHLS(token);
      return token;
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
      const opt = o.hls;
      const hls = new Hls(opt.config);
      let recoveredMedia = false;
      const on = (event, fn) =>
        hls.on(event, (_, data) => {
          if (token === core.session) fn(data);
        });
      on(Hls.Events.LEVEL_SWITCHED, (d) => {
        const l = hls.levels[d.level];
        if (!l) return;
        const avg = l.attrs && parseInt(l.attrs['AVERAGE-BANDWIDTH'], 10);
        opt.levelSwitched(l, avg > 0 ? avg : l.bitrate);
      });
      on(Hls.Events.ERROR, (d) => {
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
      });
      core.player = withDestroy(opt.setup({ hls, Events: Hls.Events, on, token }), () => hls.destroy());
      hls.attachMedia(video);
      hls.loadSource(o.page.hls);
    }

    function startNative(token) {
      osprey.engine = 'native';
      const controls = o.native ? o.native({ token }) : null;
      core.player = withDestroy(controls, () => {
        video.removeAttribute('src');
        video.load();
      });
      video.src = o.page.hls;
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
      const opt = o.dash;
      const dash = dashjs.MediaPlayer().create();
      dash.updateSettings(Object.assign({ debug: { logLevel: dashjs.Debug.LOG_LEVEL_WARNING } }, opt.settings));
      const E = dashjs.MediaPlayer.events;
      const on = (event, fn) =>
        dash.on(event, (e) => {
          if (token === core.session) fn(e);
        });
      const hasVideo = () => {
        try {
          return dash.getRepresentationsByType('video').length > 0;
        } catch (e) {
          return true;
        }
      };
      on(E.QUALITY_CHANGE_RENDERED, (e) => {
        if (e.mediaType !== 'video' && !(e.mediaType === 'audio' && !hasVideo())) return;
        const r = e.newRepresentation;
        if (r) showRendition(renditionName(r.id, r.height, r.bandwidth), r.bandwidth);
      });
      on(E.ERROR, (e) => {
        const err = (e && e.error) || {};
        // dash.js carries on after these (it skips the segment, or uses the
        // device clock); if playback stops for good, the live page's stall
        // watchdog acts.
        if (DASH_NONFATAL.has(err.code)) report(engineError('dashError', err));
        else fatal(engineError('dashError', err));
      });
      on(E.PLAYBACK_ERROR, (e) => fatal(engineError('mediaError', e && e.error)));
      core.player = withDestroy(opt.setup({ dash, dashjs, Events: E, on, token }), () => dash.destroy());
      dash.initialize(video, o.page.dash, opt.autostart);
    }

    // The browser's own HLS reports its failures on the video element.
    video.addEventListener('error', () => {
      if (osprey.engine !== 'native' || !core.player) return;
      fatal(engineError('mediaError', video.error));
    });

    return core;
  }

  window.OspreyCommon = Object.freeze({ createCore, renditionName, formatBitrate, errorText });
})();
