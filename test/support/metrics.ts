/** One unlabelled metric of the test stack's roomcast from /metrics (0 when absent). */
export async function metricValue(env: Record<string, string>, name: string): Promise<number> {
  const text = await (await fetch(`${env.PUBLIC_BASE_URL}/metrics`)).text();
  const m = new RegExp(`^${name} ([0-9.e+-]+)$`, 'm').exec(text);
  return m ? Number(m[1]) : 0;
}
