import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import type { Sql } from '../../db/client.ts';
import { toError } from '../../lib/errors.ts';
import type { Logger } from '../../lib/logger.ts';
import { beat, deregisterNode, registerNode } from './nodes.queries.ts';

/**
 * This process on the shared database: a stable node id (kept in the data directory, or NODE_ID),
 * a fresh incarnation id per start (the owner of its leases), and a heartbeat. Leases of an
 * incarnation whose heartbeat stopped are void; at start a node voids those of its own previous
 * incarnations at once, so work it was doing when it was killed resumes without waiting.
 */
export class NodeIdentity {
  readonly incarnation = randomUUID();
  private timer: ReturnType<typeof setInterval> | undefined;
  private readonly peerWatchers: ((olderAlive: boolean) => void)[] = [];

  constructor(
    readonly nodeId: string,
    private readonly sql: Sql,
    private readonly logger: Logger,
  ) {}

  /** Registers (and looks at the others), then beats every `heartbeatMs`; a process silent for `ttlMs` is gone. */
  async register(heartbeatMs: number, ttlMs: number): Promise<void> {
    this.tell(await registerNode(this.sql, this, ttlMs));
    this.timer = setInterval(() => void this.beat(ttlMs), heartbeatMs);
    this.timer.unref();
  }

  /** Told at every heartbeat whether a process of an older stock model still beats. */
  watchPeers(watcher: (olderAlive: boolean) => void) {
    this.peerWatchers.push(watcher);
  }

  private beating = false;

  private tell({ olderAlive }: { olderAlive: boolean }) {
    for (const watcher of this.peerWatchers) watcher(olderAlive);
  }

  private async beat(ttlMs: number) {
    // A database that does not answer must not pile heartbeats up behind each other.
    if (this.beating) return;
    this.beating = true;
    try {
      this.tell(await beat(this.sql, this, ttlMs));
    } catch (error) {
      this.logger.warn({ err: toError(error) }, 'heartbeat failed');
    } finally {
      this.beating = false;
    }
  }

  /** Clean stop (its leases were handed back by their owners first): its row goes. */
  async deregister(): Promise<void> {
    clearInterval(this.timer);
    await deregisterNode(this.sql, this.incarnation);
  }
}

/** NODE_ID, else the id kept in DATA_DIR (created once). */
export function resolveNodeId(configured: string | undefined, dataDir: string): string {
  if (configured) return configured;
  const file = path.join(dataDir, 'node-id');
  try {
    return readFileSync(file, 'utf8').trim();
  } catch {
    const id = `node-${randomUUID().slice(0, 8)}`;
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, id);
    return id;
  }
}
