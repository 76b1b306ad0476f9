import { parseArgs } from 'node:util';
import { ConfigError, loadConfig } from '../config';
import { log } from '../shared/log';
import { stackDown, stackUp } from '../stack/stack';
import { stackAppEnv, stackSettings } from '../stack/settings';

const USAGE = `usage:
  roomcast stack up|down|env        start/stop the local services (background, idempotent); print their settings
  roomcast start [--role api|ingest|workers]  run roles (all in one process by default)
  roomcast demo [--seconds N]        local stack + all roles + a room with three speaker bots`;

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  switch (cmd) {
    case 'stack': {
      const s = stackSettings();
      const sub = rest[0];
      if (sub === 'up') {
        await stackUp(s);
        process.stdout.write(`stack "${s.name}" is up (data in ${s.dataDir})\n`);
      } else if (sub === 'down') {
        const stopped = await stackDown(s);
        process.stdout.write(`stopped: ${stopped.join(', ') || 'nothing was running'}\n`);
      } else if (sub === 'env') {
        for (const [k, v] of Object.entries(stackAppEnv(s))) process.stdout.write(`${k}=${v}\n`);
      } else {
        process.stderr.write(USAGE + '\n');
        return 2;
      }
      return 0;
    }
    case 'start': {
      const { values } = parseArgs({ args: rest, options: { role: { type: 'string', multiple: true } } });
      const { startRoles, parseRoles } = await import('./roles');
      const cfg = loadConfig();
      await startRoles(cfg, parseRoles(values.role));
      return -1; // keep running
    }
    case 'demo': {
      const { values } = parseArgs({ args: rest, options: { seconds: { type: 'string' } } });
      const { runDemo } = await import('../demo/demo');
      await runDemo({ seconds: values.seconds ? Number(values.seconds) : undefined });
      return 0;
    }
    default:
      process.stderr.write(USAGE + '\n');
      return cmd ? 2 : 0;
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err) => {
    if (err instanceof ConfigError) process.stderr.write(`roomcast: ${err.message}\n`);
    else log.error({ err }, 'roomcast failed');
    process.exit(1);
  },
);
