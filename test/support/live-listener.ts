import type { Page } from 'playwright-core';

/** Listens to the page's audio element through Web Audio and notes when a 1 kHz tone starts. */
export async function listenForTone(page: Page, toneHz: number): Promise<void> {
  await page.evaluate((hz) => {
    const audio = document.getElementById('audio') as HTMLAudioElement;
    const ctx = new AudioContext();
    const analyser = ctx.createAnalyser();
    analyser.fftSize = 1024;
    ctx.createMediaElementSource(audio).connect(analyser);
    analyser.connect(ctx.destination);
    const buf = new Float32Array(analyser.fftSize);
    const w = (2 * Math.PI * hz) / ctx.sampleRate;
    const heard: number[] = [];
    let quietSince = 0;
    (window as any).toneOnsets = heard;
    // What the listener saw, for a failure's message: a suspended context hears nothing.
    const seen = { contextState: ctx.state as string, maxAmp: 0, ticks: 0 };
    (window as any).toneListener = seen;
    setInterval(() => {
      seen.contextState = ctx.state;
      seen.ticks++;
      if (ctx.state === 'suspended') ctx.resume().catch(() => undefined);
      analyser.getFloatTimeDomainData(buf);
      let s1 = 0, s2 = 0;
      for (let i = 0; i < buf.length; i++) {
        const s0 = buf[i] + 2 * Math.cos(w) * s1 - s2;
        s2 = s1;
        s1 = s0;
      }
      const amp = (2 * Math.sqrt(Math.max(0, s1 * s1 + s2 * s2 - 2 * Math.cos(w) * s1 * s2))) / buf.length;
      const now = Date.now();
      seen.maxAmp = Math.max(seen.maxAmp, amp);
      if (amp > 0.03) {
        if (quietSince && now - quietSince > 1000) heard.push(now);
        quietSince = 0;
      } else if (!quietSince) quietSince = now;
    }, 10);
  }, toneHz);
}

/** Speaker → listener delays (s): each sent tone matched, in order, with the first onset heard after it. */
export function matchOnsets(onsets: number[], sentAt: number[], withinMs = 12_000): number[] {
  const delays: number[] = [];
  let next = 0;
  for (const sent of sentAt) {
    while (next < onsets.length && onsets[next] <= sent) next++;
    if (next < onsets.length && onsets[next] < sent + withinMs) delays.push((onsets[next++] - sent) / 1000);
  }
  return delays;
}

export const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--autoplay-policy=no-user-gesture-required'];
