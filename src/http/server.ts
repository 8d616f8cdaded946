import type { Config } from '../config.ts';

/**
 * How Bun serves the app (main.ts, the bench and the tests listen with these).
 *
 * `maxRequestBodySize` is out of reach on purpose. Bun answers a body over its cap itself, with a
 * bare 413 and before any of our code runs; the app enforces `BODY_LIMIT_BYTES` instead (the
 * declared Content-Length up front, a chunked body while it is read), so every oversized body
 * gets a problem+json 413. Measured: Bun does not buffer a body nobody reads, so a large cap costs
 * no memory (300 MB sent at a route that answers early: resident memory flat).
 *
 * `idleTimeout` (seconds) is Elysia's default, stated here because BODY_READ_TIMEOUT_MS must stay
 * below it: a stalled upload then gets our 408 rather than a silently dropped connection.
 *
 * `reusePort` (SO_REUSEPORT) only with WORKERS > 1: every process of the cluster binds the same
 * port and Linux spreads new connections over them (src/cluster.ts). Alone, a process binds the
 * port for itself, so a second copy started by mistake on the same port (another data directory,
 * another database) fails to start instead of silently taking half the traffic. Stated either way
 * because Elysia's `listen` turns it on unless told otherwise. Linux only (macOS and Windows
 * ignore it, Bun's docs say): config.ts refuses WORKERS > 1 elsewhere.
 */
export function serveOptions(config: Pick<Config, 'port' | 'host'> & { workers?: number }) {
  const reusePort = (config.workers ?? 1) > 1;
  return { port: config.port, hostname: config.host, maxRequestBodySize: Number.MAX_SAFE_INTEGER, idleTimeout: 30, reusePort };
}
