// The replay page: hls.js plays the VOD playlist; the transcript, speakers and waveform follow it.
// Everything is relative to this folder, so the page works from the api, S3 or a CDN alike.
(async function () {
  'use strict';
  const $ = (id) => document.getElementById(id);
  const audio = $('audio');
  // Names, recognised words and room names may hold anything: every one of them goes into the page
  // as text (textContent), never as HTML.
  const span = (className, text) => {
    const el = document.createElement('span');
    if (className) el.className = className;
    el.textContent = text;
    return el;
  };
  // <speaker-label> A copy of speakerLabel in src/shared/speaker-label.ts (test/unit/speaker-label.test.ts keeps them equal).
  function speakerLabel(name, fallback) {
    const line = (s) => String(s == null ? '' : s).replace(/\p{Cs}/gu, '\uFFFD').replace(/[\p{Cc}\p{Zl}\p{Zp}\u202A-\u202E\u2066-\u2069]/gu, ' ').replace(/-->/g, ' ').replace(/\s+/g, ' ').trim();
    const cut = (s) => Array.from(line(s)).slice(0, 64).join('').trim();
    return cut(name) || cut(fallback) || 'Speaker';
  }
  // </speaker-label>
  // <caption-text> A WebVTT cue's text ("<v Name>words", & < > escaped) as plain text "Name: words".
  const VTT_ENTITIES = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: '\u00a0', lrm: '\u200e', rlm: '\u200f' };
  const vttUnescape = (s) =>
    s.replace(/&(?:#(\d+)|#[xX]([0-9a-fA-F]+)|([A-Za-z]+));/g, (ref, dec, hex, name) => {
      if (dec || hex) {
        const cp = parseInt(dec || hex, dec ? 10 : 16);
        return cp > 0 && cp <= 0x10ffff ? String.fromCodePoint(cp) : ref;
      }
      return Object.prototype.hasOwnProperty.call(VTT_ENTITIES, name) ? VTT_ENTITIES[name] : ref;
    });
  function captionText(cueText) {
    const voice = /^\s*<v(?:\.[^\s>]*)?(?:[ \t\f]+([^>]*))?>/.exec(cueText);
    const rest = voice ? cueText.slice(voice[0].length) : cueText;
    const words = vttUnescape(rest.replace(/<[^>]*>/g, '')).replace(/\s+/g, ' ').trim();
    return voice && voice[1] && voice[1].trim() ? speakerLabel(vttUnescape(voice[1])) + ': ' + words : words;
  }
  // </caption-text>
  // A private room's page is opened with credentials (?token=… or a host's signed link): every
  // request the page makes carries them on.
  const params = new URLSearchParams(location.search);
  const creds = new URLSearchParams([...params].filter(([k]) => ['token', 'exp', 'nbf', 'sig', 'scope'].includes(k))).toString();
  const withCreds = (url) => (creds ? url + (url.includes('?') ? '&' : '?') + creds : url);
  const data = await (await fetch(withCreds('data.json'), { cache: 'no-cache' })).json();
  const fmt = (s) => {
    s = Math.max(0, Math.floor(s));
    const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), sec = s % 60;
    return (h ? h + ':' + String(m).padStart(2, '0') : m) + ':' + String(sec).padStart(2, '0');
  };
  const colourOf = Object.fromEntries(data.speakers.map((s) => [s.identity, s.colour]));
  // Transcript segments name their speaker by label (speakerLabel of the participant's name).
  const byName = new Map();
  for (const s of data.speakers) for (const key of [s.name, speakerLabel(s.name)]) if (!byName.has(key)) byName.set(key, s);

  document.title = 'Replay: ' + data.room;
  $('title').textContent = data.room;
  $('when').textContent = new Date(data.startedAt).toLocaleString() + ' · ' + fmt(data.durationMs / 1000);
  // One conversation in two recordings (LiveKit lost the room's session): each part links the other.
  // From the manifest, not data.json: the later part may begin after this page was published.
  const manifest = await fetch(withCreds('../manifest.json'), { cache: 'no-cache' }).then((r) => (r.ok ? r.json() : {}), () => ({}));
  for (const [id, text] of [[manifest.continues, '‹ Previous part'], [manifest.continuedBy, 'Next part ›']]) {
    if (!id || !/^[0-9]{8}T[0-9]{6}Z-[A-Za-z0-9_]+$/.test(id)) continue;
    const a = document.createElement('a');
    a.href = withCreds('../../' + id + '/replay/index.html');
    a.textContent = text;
    a.className = 'part-link';
    $('parts').append(a, ' ');
    $('parts').hidden = false;
  }

  // Player: hls.js where Media Source is available, native HLS (Safari) otherwise.
  const start = Number(new URLSearchParams(location.search).get('t'));
  if (window.Hls && window.Hls.isSupported()) {
    const hls = new window.Hls({ startPosition: Number.isFinite(start) && start > 0 ? start : -1 });
    hls.loadSource(withCreds(data.hls));
    hls.attachMedia(audio);
  } else {
    audio.src = withCreds(data.hls);
    if (start > 0) audio.addEventListener('loadedmetadata', () => (audio.currentTime = start), { once: true });
  }
  if (data.vtt) $('captions').src = withCreds(data.vtt);
  const track = audio.textTracks[0];
  if (track) {
    // Hidden: the browser does not draw the cues; the page shows the current one as plain text.
    track.mode = 'hidden';
    track.addEventListener('cuechange', () => {
      const cue = track.activeCues && track.activeCues[0];
      $('caption').textContent = cue ? captionText(cue.text) : '';
    });
  }
  const seek = (t) => {
    audio.currentTime = Math.max(0, t);
    if (audio.paused) audio.play().catch(() => undefined);
  };

  // Controls.
  const play = $('play');
  play.addEventListener('click', () => (audio.paused ? audio.play() : audio.pause()));
  audio.addEventListener('play', () => (play.textContent = '❚❚ Pause'));
  audio.addEventListener('pause', () => (play.textContent = '▶︎ Play'));
  document.querySelectorAll('[data-rate]').forEach((b) =>
    b.addEventListener('click', () => {
      audio.playbackRate = Number(b.dataset.rate);
      document.querySelectorAll('[data-rate]').forEach((x) => x.setAttribute('aria-pressed', String(x === b)));
    }),
  );
  const nextSpeaker = () => {
    const now = audio.currentTime * 1000;
    const current = data.turns.find((t) => t.startMs <= now && now < t.endMs);
    const next = data.turns.find((t) => t.startMs > now + 100 && (!current || t.speaker !== current.speaker));
    if (next) seek(next.startMs / 1000);
  };
  $('next-speaker').addEventListener('click', nextSpeaker);
  document.addEventListener('keydown', (e) => {
    if (e.target instanceof HTMLInputElement) return;
    if (e.key === ' ' && !(e.target instanceof HTMLButtonElement)) { e.preventDefault(); play.click(); }
    else if (e.key === 'n') nextSpeaker();
    else if (e.key === 'ArrowRight' && e.target === document.body) seek(audio.currentTime + 5);
    else if (e.key === 'ArrowLeft' && e.target === document.body) seek(audio.currentTime - 5);
  });

  // Speakers and downloads.
  for (const s of data.speakers) {
    const li = document.createElement('li');
    const swatch = span('swatch', '');
    swatch.style.background = s.colour;
    li.append(swatch, span('', speakerLabel(s.name, s.identity)), span('time', fmt(s.talkMs / 1000) + ' talking'));
    $('speakers').append(li);
  }
  // Raw per-speaker files are for hosts: offered only on a page opened with a token.
  for (const d of data.downloads.filter((x) => !x.hostOnly || params.has('token'))) {
    const li = document.createElement('li');
    const a = document.createElement('a');
    a.href = withCreds(d.href);
    a.textContent = d.label;
    a.setAttribute('download', '');
    a.dataset.type = d.type;
    li.append(a);
    $('downloads').append(li);
  }

  // Transcript that follows the audio.
  const items = (data.transcript ? data.transcript.segments : []).map((seg) => {
    const li = document.createElement('li');
    li.tabIndex = 0;
    li.dataset.start = seg.startTime;
    li.style.borderLeftColor = (byName.get(seg.speaker) && byName.get(seg.speaker).colour) || '#999';
    li.append(span('time', fmt(seg.startTime)), span('who', speakerLabel(seg.speaker)), span('body', seg.body));
    const go = () => seek(seg.startTime);
    li.addEventListener('click', go);
    li.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); go(); } });
    $('segments').append(li);
    return { li, seg };
  });
  if (!data.transcript) $('search-status').textContent = 'Transcript unavailable' + (data.transcriptError ? ': ' + data.transcriptError : '.');
  let currentItem = null;
  audio.addEventListener('timeupdate', () => {
    const t = audio.currentTime;
    $('clock').textContent = fmt(t) + ' / ' + fmt(data.durationMs / 1000);
    let found = null;
    for (const it of items) if (it.seg.startTime <= t + 0.05) found = it; else break;
    if (found !== currentItem) {
      if (currentItem) currentItem.li.removeAttribute('aria-current');
      if (found) {
        found.li.setAttribute('aria-current', 'true');
        if (document.activeElement !== $('search')) found.li.scrollIntoView({ block: 'nearest' });
      }
      currentItem = found;
    }
    drawWave();
  });

  // Search: filter to matching lines, Enter jumps to the next one.
  $('search').addEventListener('input', () => {
    const q = $('search').value.trim().toLowerCase();
    let n = 0;
    for (const { li, seg } of items) {
      const body = li.children[2];
      body.textContent = seg.body;
      const i = q ? seg.body.toLowerCase().indexOf(q) : -1;
      li.classList.toggle('hidden', !!q && i < 0);
      li.classList.toggle('match', i >= 0);
      if (i >= 0) {
        n++;
        const mark = document.createElement('mark');
        mark.textContent = seg.body.slice(i, i + q.length);
        body.replaceChildren(seg.body.slice(0, i), mark, seg.body.slice(i + q.length));
      }
    }
    $('search-status').textContent = q ? n + ' line' + (n === 1 ? '' : 's') + ' match' : '';
  });
  $('search').addEventListener('keydown', (e) => {
    if (e.key !== 'Enter') return;
    const hit = items.find((it) => it.li.classList.contains('match') && it.seg.startTime > audio.currentTime + 0.1) || items.find((it) => it.li.classList.contains('match'));
    if (hit) seek(hit.seg.startTime);
  });

  // Waveform coloured by who speaks.
  const canvas = $('waveform');
  function drawWave() {
    const w = (canvas.width = canvas.clientWidth * devicePixelRatio);
    const h = canvas.height;
    const ctx = canvas.getContext('2d');
    const peaks = data.waveform.peaks;
    const per = peaks.length / w;
    const turns = data.turns;
    for (let x = 0; x < w; x++) {
      let p = 0;
      for (let i = Math.floor(x * per); i < Math.floor((x + 1) * per) + 1 && i < peaks.length; i++) p = Math.max(p, peaks[i]);
      const ms = ((x + 0.5) / w) * data.durationMs;
      const turn = turns.find((t) => t.startMs <= ms && ms < t.endMs);
      ctx.fillStyle = turn ? colourOf[turn.speaker] : '#9e9e9e';
      const bar = Math.max(1, p * h);
      ctx.fillRect(x, (h - bar) / 2, 1, bar);
    }
    const at = (audio.currentTime * 1000 / data.durationMs) * w;
    ctx.fillStyle = '#000';
    ctx.fillRect(at, 0, 2, h);
  }
  canvas.addEventListener('click', (e) => {
    const r = canvas.getBoundingClientRect();
    seek(((e.clientX - r.left) / r.width) * data.durationMs / 1000);
  });
  canvas.addEventListener('keydown', (e) => {
    if (e.key === 'ArrowRight') seek(audio.currentTime + 5);
    if (e.key === 'ArrowLeft') seek(audio.currentTime - 5);
  });
  window.addEventListener('resize', drawWave);
  drawWave();
  document.body.dataset.ready = 'true';
})();
