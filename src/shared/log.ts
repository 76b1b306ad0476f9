import pino from 'pino';

/** One JSON logger for every role; child loggers carry the role/recording context. */
export const log = pino({
  level: process.env.LOG_LEVEL ?? 'info',
  base: { pid: process.pid },
  redact: ['*.secret', '*.apiSecret', '*.token', 'authorization'],
});

export type Logger = pino.Logger;
