/**
 * One unlabelled metric of the test stack's roomcast from /metrics (0 when absent). A pooled
 * keep-alive socket the server has just closed fails a fetch with "other side closed" (undici):
 * that, and only a network error, is tried again on a fresh request.
 */
export async function metricValue(env: Record<string, string>, name: string): Promise<number> {
  let text: string | undefined;
  for (let attempt = 1; text === undefined; attempt++) {
    try {
      const r = await fetch(`${env.PUBLIC_BASE_URL}/metrics`, { headers: { connection: 'close', authorization: `Bearer ${env.METRICS_TOKEN}` } });
      if (!r.ok) throw new Error(`/metrics answered ${r.status}`);
      text = await r.text();
    } catch (err) {
      if (attempt >= 3 || !(err instanceof TypeError)) throw err;
    }
  }
  const m = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}
