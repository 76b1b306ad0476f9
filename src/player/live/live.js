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
  };

  function start(playlist) {
    if (state.playlist === playlist) return;
    state.playlist = playlist;
    if (window.Hls && window.Hls.isSupported()) {
      // Plain HLS with 2 s segments: stay 3 s (1.5 segments) behind the edge, speed up a little when
      // more than 8 s behind rather than jump, and never hold more than 30 s behind the playhead.
      const hls = new window.Hls({ liveSyncDuration: 3, liveMaxLatencyDuration: 8, maxLiveSyncPlaybackRate: 1.2, backBufferLength: 30, maxBufferLength: 10, manifestLoadingMaxRetry: 10, levelLoadingMaxRetry: 10 });
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
  setInterval(() => state.status && render(state.status), 250);
})();
