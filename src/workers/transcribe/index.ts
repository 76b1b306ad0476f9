import type { Config } from '../../config';
import { EngineConfigError, TranscriptionEngine } from './engine';
import { OpenAiEngine } from './openai';
import { SphinxEngine } from './sphinx';
import { WhisperEngine } from './whisper';

export function makeEngine(cfg: Pick<Config, 'TRANSCRIBE_ENGINE' | 'WHISPER_MODEL' | 'OPENAI_BASE_URL' | 'OPENAI_API_KEY' | 'OPENAI_MODEL'>): TranscriptionEngine {
  switch (cfg.TRANSCRIBE_ENGINE) {
    case 'sphinx':
      return new SphinxEngine();
    case 'whisper':
      return new WhisperEngine(cfg.WHISPER_MODEL);
    case 'openai':
      if (!cfg.OPENAI_BASE_URL) throw new EngineConfigError('OPENAI_BASE_URL is required for the openai engine');
      return new OpenAiEngine({ baseUrl: cfg.OPENAI_BASE_URL, apiKey: cfg.OPENAI_API_KEY, model: cfg.OPENAI_MODEL });
  }
}
