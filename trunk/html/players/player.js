/* rill's player page: plays an HTTP-FLV live stream with mpegts.js, or an
 * HLS one (a URL ending in .m3u8) with hls.js (the browser's own HLS where
 * hls.js cannot run: Safari on iPhone).
 *
 *   players/index.html?url=http://HOST:PORT/live/STREAM.flv[&autoplay=0]
 *   players/index.html?url=http://HOST:PORT/live/STREAM.m3u8
 *
 * The default url is this host's /live/livestream.flv. Video starts muted so
 * browsers allow autoplay. window.rillPlayer is the hook tests use:
 *   rillPlayer.state          'idle' | 'loading' | 'playing' | 'error' | 'ended'
 *   rillPlayer.url            the stream being played
 *   rillPlayer.errors         messages, oldest first
 *   rillPlayer.play(url?)     (re)start, with url or the one in the text box
 *   rillPlayer.stop()
 *   rillPlayer.stats()        { state, url, currentTime, bufferedEnd, readyState,
 *                               totalVideoFrames, droppedVideoFrames, errors }
 *   rillPlayer.video, rillPlayer.player (the <video> and the mpegts.js or hls.js player)
 *   rillPlayer.kind           'flv' | 'hls' | 'native-hls' | ''  
 */
(function () {
  'use strict';

  var video = document.getElementById('video');
  var input = document.getElementById('url');
  var stateEl = document.getElementById('state');
  var statsEl = document.getElementById('stats');
  var errorsEl = document.getElementById('errors');
  var player = null;
  var speedKBps = 0;

  var api = {
    state: 'idle',
    url: '',
    errors: [],
    video: video,
    player: null,
    kind: '',
    play: play,
    stop: stop,
    stats: stats
  };
  window.rillPlayer = api;

  function setState(s) {
    api.state = s;
    stateEl.textContent = s;
    stateEl.setAttribute('data-state', s);
  }

  function addError(msg) {
    api.errors.push(msg);
    if (api.errors.length > 50) api.errors.shift();
    errorsEl.textContent = api.errors.join('\n');
    errorsEl.hidden = false;
    if (window.console) console.warn('rill player: ' + msg);
  }

  function defaultUrl() {
    if (location.protocol === 'http:' || location.protocol === 'https:') {
      return location.protocol + '//' + location.host + '/live/livestream.flv';
    }
    return 'http://127.0.0.1:8080/live/livestream.flv';
  }

  function frames() {
    if (typeof video.getVideoPlaybackQuality === 'function') {
      var q = video.getVideoPlaybackQuality();
      return { total: q.totalVideoFrames, dropped: q.droppedVideoFrames };
    }
    return { total: video.webkitDecodedFrameCount || 0, dropped: video.webkitDroppedFrameCount || 0 };
  }

  function bufferedEnd() {
    var b = video.buffered;
    return b && b.length ? b.end(b.length - 1) : 0;
  }

  function stats() {
    var f = frames();
    return {
      state: api.state,
      url: api.url,
      currentTime: video.currentTime,
      bufferedEnd: bufferedEnd(),
      readyState: video.readyState,
      totalVideoFrames: f.total,
      droppedVideoFrames: f.dropped,
      errors: api.errors.slice()
    };
  }

  function showStats() {
    if (!player) { statsEl.textContent = ''; return; }
    var f = frames();
    statsEl.textContent = 'time ' + video.currentTime.toFixed(1) + ' s' +
      ', buffer ' + Math.max(0, bufferedEnd() - video.currentTime).toFixed(1) + ' s' +
      ', frames ' + f.total + ' (dropped ' + f.dropped + ')' +
      ', ' + Math.round(speedKBps * 8) + ' kbit/s';
  }

  function stop() {
    if (player) {
      var p = player;
      player = null;
      api.player = null;
      if (api.kind === 'flv') {
        try { p.pause(); } catch (e) { /* already torn down */ }
        try { p.unload(); } catch (e) { /* idem */ }
        try { p.detachMediaElement(); } catch (e) { /* idem */ }
        try { p.destroy(); } catch (e) { /* idem */ }
      } else if (api.kind === 'hls') {
        try { p.destroy(); } catch (e) { /* idem */ }
      } else {
        video.removeAttribute('src');
        try { video.load(); } catch (e) { /* idem */ }
      }
    }
    api.kind = '';
    speedKBps = 0;
    setState('idle');
    showStats();
  }

  function play(url) {
    url = (url || input.value || '').trim() || defaultUrl();
    stop();
    api.errors = [];
    errorsEl.textContent = '';
    errorsEl.hidden = true;
    input.value = url;
    api.url = url;

    var abs;
    try {
      abs = new URL(url, location.href);
    } catch (e) {
      setState('error');
      addError('not a URL: ' + url);
      return;
    }
    if (!/^(https?|wss?):$/.test(abs.protocol)) {
      setState('error');
      addError('unsupported URL scheme ' + abs.protocol + ' (use http://, https://, ws:// or wss://)');
      return;
    }
    if (history.replaceState) {
      history.replaceState(null, '', '?url=' + encodeURIComponent(url));
    }
    if (/\.m3u8$/i.test(abs.pathname)) {
      playHls(abs.href);
      return;
    }
    if (typeof mpegts === 'undefined') {
      setState('error');
      addError('mpegts.js is not loaded (players/mpegts.js missing: run make with npm available)');
      return;
    }
    if (!mpegts.getFeatureList().mseLivePlayback) {
      setState('error');
      addError('this browser cannot play live FLV (no MediaSource Extensions with H.264)');
      return;
    }

    setState('loading');
    api.kind = 'flv';
    player = mpegts.createPlayer({
      type: 'flv',
      isLive: true,
      url: abs.href
    }, {
      enableWorker: false,
      enableStashBuffer: false,
      lazyLoad: false,
      liveBufferLatencyChasing: true,
      liveBufferLatencyMaxLatency: 3.0,
      liveBufferLatencyMinRemain: 0.5
    });
    api.player = player;
    var mine = player;

    player.on(mpegts.Events.ERROR, function (type, detail, info) {
      if (player !== mine) return;
      var msg = type + ': ' + detail;
      if (info) {
        if (info.code !== undefined && info.code !== -1) msg += ' (HTTP ' + info.code + ')';
        if (info.msg) msg += ' ' + info.msg;
      }
      setState('error');
      addError(msg);
    });
    player.on(mpegts.Events.LOADING_COMPLETE, function () {
      if (player !== mine) return;
      setState('ended');      /* the server closed the response: the stream is over */
    });
    player.on(mpegts.Events.STATISTICS_INFO, function (s) {
      if (player !== mine) return;
      speedKBps = s.speed || 0;
    });

    player.attachMediaElement(video);
    player.load();
    video.muted = true;
    var r = player.play();
    if (r && typeof r.catch === 'function') {
      r.catch(function (e) {
        if (player !== mine) return;
        addError('autoplay refused (' + (e && e.name ? e.name : e) + '): press Play');
      });
    }
  }

  function startVideo() {
    video.muted = true;
    var r = video.play();
    var mine = player;
    if (r && typeof r.catch === 'function') {
      r.catch(function (e) {
        if (player !== mine) return;
        addError('autoplay refused (' + (e && e.name ? e.name : e) + '): press Play');
      });
    }
  }

  /* HLS: hls.js where MediaSource is there, else the browser's own player. */
  function playHls(href) {
    setState('loading');
    if (typeof Hls !== 'undefined' && Hls.isSupported()) {
      api.kind = 'hls';
      player = new Hls({ liveSyncDurationCount: 3, enableWorker: false });
      api.player = player;
      var mine = player;
      player.on(Hls.Events.ERROR, function (ev, data) {
        if (player !== mine || !data.fatal) return;
        var msg = data.type + ': ' + data.details;
        if (data.response && data.response.code) msg += ' (HTTP ' + data.response.code + ')';
        setState('error');
        addError(msg);
      });
      player.loadSource(href);
      player.attachMedia(video);
      startVideo();
      return;
    }
    if (video.canPlayType('application/vnd.apple.mpegurl')) {
      api.kind = 'native-hls';
      player = video;         /* stop() unloads it */
      api.player = null;
      video.src = href;
      startVideo();
      return;
    }
    setState('error');
    addError(typeof Hls === 'undefined' ? 'hls.js is not loaded (players/hls.min.js missing: run make with npm available)'
                                          : 'this browser cannot play HLS (no MediaSource Extensions)');
  }

  video.addEventListener('playing', function () {
    if (player) setState('playing');
  });
  video.addEventListener('waiting', function () {
    if (player && api.state === 'playing') setState('loading');
  });
  video.addEventListener('ended', function () {
    if (player) setState('ended');
  });
  video.addEventListener('error', function () {
    if (!player) return;
    var e = video.error;
    setState('error');
    addError('video element error' + (e ? ' ' + e.code + (e.message ? ': ' + e.message : '') : ''));
  });

  document.getElementById('form').addEventListener('submit', function (ev) {
    ev.preventDefault();
    play(input.value);
  });
  document.getElementById('stop').addEventListener('click', function () {
    stop();
  });

  if (typeof mpegts !== 'undefined' && mpegts.LoggingControl) {
    mpegts.LoggingControl.enableVerbose = false;
    mpegts.LoggingControl.enableDebug = false;
  }
  setInterval(showStats, 500);

  var params = new URLSearchParams(location.search);
  input.value = params.get('url') || defaultUrl();
  if (params.get('autoplay') === '0') {
    setState('idle');
  } else {
    play(input.value);
  }
})();
