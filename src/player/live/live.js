// The live player: hls.js kept close to the live edge, a delay badge, who is speaking at the moment
// being heard, and a switch to the replay page once the room has ended and its replay is ready.
(function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const audio = $('audio');
  // Names come from LiveKit clients and may hold anything: they go into the page as text
  // (textContent, attributes), never as HTML, and as one short line.
  // <speaker-label> A copy of speakerLabel in src/shared/speaker-label.ts (test/unit/speaker-label.test.ts keeps them equal).
  function speakerLabel(name, fallback) {
    const line = (s) => String(s == null ? '' : s).replace(/\p{Cs}/gu, '\uFFFD').replace(/[\p{Cc}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]/gu, ' ').replace(/-->/g, ' ').replace(/\s+/g, ' ').trim();
    const cut = (s) => Array.from(line(s)).slice(0, 64).join('').trim();
    return cut(name) || cut(fallback) || 'Speaker';
  }
  // </speaker-label>
  const room = decodeURIComponent(location.pathname.split('/')[3] || '');
  const params = new URLSearchParams(location.search);
  const creds = new URLSearchParams([...params].filter(([k]) => ['token', 'exp', 'nbf', 'sig', 'scope'].includes(k))).toString();
  const statusUrl = '/v1/rooms/' + encodeURIComponent(room) + '/live/status' + (creds ? '?' + creds : '');
  const state = { status: null, startedAtMs: 0, hls: null, playlist: null };
  document.title = 'Live: ' + room;
  $('title').textContent = room;

  /** Wall-clock time of what is being heard (EXT-X-PROGRAM-DATE-TIME), or null. */
  function playingDate() {
    if (state.hls && state.hls.playingDate) return state.hls.playingDate.getTime();
    if (audio.getStartDate && !isNaN(audio.getStartDate().getTime())) return audio.getStartDate().getTime() + audio.currentTime * 1000;
    return null;
  }
  window.roomcastLive = {
    delaySeconds: () => { const d = playingDate(); return d === null ? null : (Date.now() - d) / 1000; },
    playheadMs: () => { const d = playingDate(); return d === null ? null : d - state.startedAtMs; },
    get status() { return state.status; },
    /** hls.js's own view: how far behind its live edge it plays, and how far it aims to (PART-HOLD-BACK). */
    player: () => (state.hls ? { latency: state.hls.latency, targetLatency: state.hls.targetLatency, lowLatency: state.hls.config.lowLatencyMode } : null),
  };

  function start(playlist) {
    if (state.playlist === playlist) return;
    state.playlist = playlist;
    if (window.Hls && window.Hls.isSupported()) {
      // LL-HLS: hls.js follows the parts and holds PART-HOLD-BACK (3 parts, ~0.64 s) behind the
      // edge; keepUp() below (not hls.js) speeds up when it falls behind. hls.js would add 1 s to its
      // target after every stall (a busy CPU, a slow part) and stay there; a stall here is caught up
      // instead. A listener who rewound stays where they are until they go back to live.
      // ?ll=0 plays it as a player that knows nothing of parts would (plain HLS, 3 s behind the
      // edge: how roomcast played before LL-HLS; bench/listening.ts compares the two).
      const plain = params.get('ll') === '0';
      const hls = new window.Hls(plain
        ? { lowLatencyMode: false, liveSyncDuration: 3, liveMaxLatencyDuration: 8, maxLiveSyncPlaybackRate: 1.2, backBufferLength: 30, maxBufferLength: 10, manifestLoadingMaxRetry: 10, levelLoadingMaxRetry: 10 }
        : { lowLatencyMode: true, maxLiveSyncPlaybackRate: 1, liveSyncOnStallIncrease: 0, backBufferLength: 30, maxBufferLength: 10, manifestLoadingMaxRetry: 10, levelLoadingMaxRetry: 10 });
      hls.on(window.Hls.Events.ERROR, (_e, data) => {
        console.warn('hls.js:', data.type, data.details, data.fatal ? '(fatal)' : '');
        if (!data.fatal) return;
        // The playlist appears with the room's first segment: until then, ask again.
        if (data.details === 'manifestLoadError' || data.details === 'manifestLoadTimeOut') setTimeout(() => hls.loadSource(playlist), 1000);
        else if (data.type === window.Hls.ErrorTypes.NETWORK_ERROR) hls.startLoad();
        else if (data.type === window.Hls.ErrorTypes.MEDIA_ERROR) hls.recoverMediaError();
      });
      hls.loadSource(playlist);
      hls.attachMedia(audio);
      state.hls = hls;
    } else if (audio.canPlayType('application/vnd.apple.mpegurl')) {
      audio.src = playlist; // Safari plays HLS itself
    } else {
      $('state').textContent = 'This browser cannot play the live stream.';
      return;
    }
    audio.play().catch(() => {
      $('play').hidden = false; // autoplay refused: one click
    });
  }
  $('play').addEventListener('click', () => {
    $('play').hidden = true;
    audio.play();
  });

  // Live rewind: the EVENT playlist holds the room from its start, so the whole room is seekable.
  function liveEdge() {
    if (state.hls && state.hls.liveSyncPosition) return state.hls.liveSyncPosition;
    const r = audio.seekable;
    return r && r.length ? r.end(r.length - 1) : 0;
  }
  function seekStart() {
    const r = audio.seekable;
    return r && r.length ? r.start(0) : 0;
  }
  let scrubbing = false;
  $('scrub').addEventListener('input', () => { scrubbing = true; });
  $('scrub').addEventListener('change', () => {
    scrubbing = false;
    userRewound = Number($('scrub').value) < liveEdge() - 5;
    audio.currentTime = Math.min(Number($('scrub').value), liveEdge());
    if (audio.paused) audio.play().catch(() => undefined);
  });
  $('golive').addEventListener('click', () => {
    userRewound = false;
    audio.currentTime = liveEdge();
    if (audio.paused) audio.play().catch(() => undefined);
  });
  window.roomcastLive.seekBack = (seconds) => {
    userRewound = seconds > 5;
    // A seek is clamped to what the media element finds seekable, which can lag the playlist for a
    // moment (hls.js sets the duration from it as it updates): seek again until it takes.
    let tries = 0;
    const seek = () => {
      if (!userRewound) return;
      const want = Math.max(seekStart(), liveEdge() - seconds);
      if (Math.abs(audio.currentTime - want) > 1) audio.currentTime = want;
      if (++tries < 8 && Math.abs(audio.currentTime - want) > 1) setTimeout(seek, 250);
    };
    seek();
  };
  window.roomcastLive.goLive = () => { userRewound = false; audio.currentTime = liveEdge(); };
  window.roomcastLive.behindLiveSeconds = () => (state.playlist ? Math.max(0, liveEdge() - audio.currentTime) : null);
  // hls.js speeds up to its target latency only with more than 1 s buffered, which a 0.64 s part
  // hold-back never has: a listener who tuned in late (a stall, a slow start) would stay late. Play
  // 10 % faster (pitch kept) while 150 ms–1.5 s behind the target, jump to the edge past that,
  // unless the listener rewound on purpose.
  let userRewound = false;
  function keepUp() {
    const hls = state.hls;
    if (!hls || !hls.config.lowLatencyMode || audio.paused || userRewound) {
      if (audio.playbackRate !== 1) audio.playbackRate = 1;
      return;
    }
    const late = hls.latency - hls.targetLatency;
    const b = audio.buffered;
    const ahead = b && b.length ? b.end(b.length - 1) - audio.currentTime : 0;
    if (late > 1.5 && hls.liveSyncPosition) {
      audio.currentTime = hls.liveSyncPosition;
      return;
    }
    const rate = late > 0.15 && ahead > 0.3 ? 1.1 : 1;
    if (audio.playbackRate !== rate) audio.playbackRate = rate;
  }
  function renderRewind() {
    const edge = liveEdge();
    $('rewind').hidden = !state.playlist || !(edge > 0);
    if ($('rewind').hidden) return;
    const scrub = $('scrub');
    scrub.min = String(Math.floor(seekStart()));
    scrub.max = String(Math.ceil(edge));
    if (!scrubbing) scrub.value = String(Math.floor(audio.currentTime));
    const behind = window.roomcastLive.behindLiveSeconds();
    const far = behind !== null && behind > 5;
    $('golive').hidden = !far;
    $('behind').textContent = far ? fmt(behind) + ' behind live' : 'at the live edge';
  }
  function fmt(s) {
    const m = Math.floor(s / 60);
    const sec = Math.floor(s % 60);
    return (m ? m + ' min ' : '') + sec + ' s';
  }

  function render(s) {
    $('badge').hidden = !s.live;
    if (s.live) {
      const d = window.roomcastLive.delaySeconds();
      $('delay').textContent = d === null ? '' : d.toFixed(1) + ' s behind';
      $('state').textContent = audio.paused ? 'Live now' : 'Listening live';
    }
    const at = window.roomcastLive.playheadMs();
    const list = $('speakers');
    list.replaceChildren();
    for (const sp of (s.speaking && s.speaking.speakers) || []) {
      const li = document.createElement('li');
      const name = speakerLabel(sp.name, sp.identity);
      li.textContent = name;
      const now = at !== null && sp.intervals.some(([a, b]) => at >= a - 150 && at <= b + 150);
      if (now) {
        li.className = 'speaking';
        li.setAttribute('aria-label', name + ', speaking');
      }
      list.append(li);
    }
  }

  async function poll() {
    try {
      const r = await fetch(statusUrl, { cache: 'no-cache' });
      if (r.status === 401 || r.status === 403) {
        $('state').textContent = 'This room is private: open the link its host gave you.';
        return setTimeout(poll, 10000);
      }
      if (r.ok) {
        const s = await r.json();
        state.status = s;
        state.startedAtMs = Date.parse(s.startedAt);
        if (s.live && s.playlist) start(s.playlist);
        if (!s.live && s.replay) {
          // The room is over, but a listener is some seconds behind it: let them hear the end first.
          const heardAll = !state.playlist || audio.ended || audio.paused || state.endedFor > 20;
          state.endedFor = (state.endedFor || 0) + 1;
          if (s.replay.ready && heardAll) {
            location.href = s.replay.url;
            return;
          }
          $('state').textContent = s.replay.ready ? 'The room has ended: the replay follows.' : 'The room has ended; its replay is being prepared…';
        }
        render(s);
      } else if (r.status === 404) {
        $('state').textContent = 'Nothing is live in this room yet.';
      }
    } catch {
      // the next poll retries
    }
    setTimeout(poll, 1000);
  }
  poll();
  setInterval(() => {
    if (state.status) render(state.status);
    renderRewind();
    keepUp();
  }, 250);
})();
