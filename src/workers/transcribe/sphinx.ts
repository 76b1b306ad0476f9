import { runProcess } from '../../shared/ffmpeg';
import { EngineConfigError, TranscriptionEngine, Word } from './engine';

/** Markers PocketSphinx puts in its word list that are not words. */
const NOT_WORDS = /^(<s>|<\/s>|<sil>|\[[A-Z]+\]|\+\+.*\+\+)$/;

/** Parses `pocketsphinx_continuous -time yes` output: "word start end confidence" per line. */
export function parseSphinxTimes(stdout: string): Word[] {
  const words: Word[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^(\S+) (\d+\.\d+) (\d+\.\d+) (\d+(?:\.\d+)?)$/.exec(line.trim());
    if (!m || NOT_WORDS.test(m[1])) continue;
    words.push({ word: m[1].replace(/\(\d+\)$/, ''), startMs: Math.round(Number(m[2]) * 1000), endMs: Math.round(Number(m[3]) * 1000) });
  }
  return words;
}

/** PocketSphinx (Debian's pocketsphinx + pocketsphinx-en-us), offline, as a child process. */
export class SphinxEngine implements TranscriptionEngine {
  readonly name = 'sphinx';

  async transcribe(wavFile: string, opts: { timeoutMs: number }): Promise<Word[]> {
    const { stdout } = await runProcess('pocketsphinx_continuous', ['-infile', wavFile, '-time', 'yes', '-logfn', '/dev/null'], opts).catch((err: NodeJS.ErrnoException) => {
      if (err.code === 'ENOENT') throw new EngineConfigError('the sphinx engine needs pocketsphinx_continuous (Debian: pocketsphinx, pocketsphinx-en-us)');
      throw err;
    });
    return parseSphinxTimes(stdout);
  }
}
