/** Word error rate: (substitutions + deletions + insertions) / reference words. */
export function wer(reference: string[], hypothesis: string[]): { errors: number; words: number } {
  const n = reference.length;
  const m = hypothesis.length;
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  for (let i = 1; i <= n; i++) {
    const cur = [i];
    for (let j = 1; j <= m; j++) {
      cur[j] = Math.min(prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (reference[i - 1] === hypothesis[j - 1] ? 0 : 1));
    }
    prev = cur;
  }
  return { errors: prev[m], words: n };
}

export const words = (text: string) => text.toLowerCase().replace(/[^a-z' ]+/g, ' ').split(/\s+/).filter(Boolean);
