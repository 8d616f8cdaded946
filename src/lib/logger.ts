import pino, { type Logger } from 'pino';

/**
 * Structured JSON logs on stdout; `LOG_FORMAT=pretty` for humans. pino-pretty runs as a stream in
 * this process (pino transports use worker threads, which Bun does not run reliably).
 */
export async function createLogger(level: string, format = process.env.LOG_FORMAT): Promise<Logger> {
  if (format === 'pretty') {
    const { default: pretty } = await import('pino-pretty');
    return pino({ level }, pretty({ colorize: true, translateTime: 'SYS:HH:MM:ss.l', ignore: 'pid,hostname' }));
  }
  return pino({ level, base: { pid: process.pid } });
}

export type { Logger };
