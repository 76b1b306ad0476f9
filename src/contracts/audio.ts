/** The audio every part agrees on: LiveKit's 48 kHz PCM on the timeline, 16 kHz mono for speech-to-text. */
export const SAMPLE_RATE = 48_000;
export const SPEECH_SAMPLE_RATE = 16_000;
