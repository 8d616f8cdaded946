import { createHash } from 'node:crypto';
import type { Sql } from '../../db/client.ts';
import type { ApiKeyRole } from './roles.ts';
import { toError } from '../../lib/errors.ts';
import type { Clock } from '../../lib/clock.ts';
import type { Capabilities } from '../capabilities.ts';
import type { Logger } from '../../lib/logger.ts';
import { keysChangedSince, recordLastUsed, type KeyChange } from './api-keys.queries.ts';

export type KnownKey = { id: string; name: string; role: ApiKeyRole };

export type KeyStoreOptions = {
  /** How often the process looks for keys created or revoked elsewhere (the revocation delay). */
  refreshMs: number;
  /** Last-used times are recorded at most this often per key. */
  lastUsedEveryMs: number;
  clock: Clock;
  logger: Logger;
};

export const hashKey = (key: string) => createHash('sha256').update(key).digest('hex');

/**
 * Every active API key of the shop, by hash, in this process's memory: a request with a key costs
 * a SHA-256 and a map lookup, never a database round trip. One timer brings the map up to date
 * (`keysChangedSince`, usually an empty answer) every `refreshMs`, which bounds how long a key
 * revoked by another process still works here; and records last-used times in one statement.
 */
export class KeyStore {
  private readonly byHash = new Map<string, KnownKey>();
  private revision = 0;
  private refreshing: Promise<void> | undefined;
  /** Start time of the last refresh that completed: every change committed before it is known. */
  private knownSince = -1;
  private readonly lastMarked = new Map<string, number>();
  private readonly used = new Set<string>();
  private timer: ReturnType<typeof setInterval> | undefined;

  constructor(
    private readonly sql: Sql,
    private readonly capabilities: Capabilities,
    private readonly options: KeyStoreOptions,
  ) {}

  async start(): Promise<void> {
    await this.refresh();
    this.timer ??= setInterval(() => void this.sync(), this.options.refreshMs);
    this.timer.unref?.();
  }

  async stop(): Promise<void> {
    clearInterval(this.timer);
    this.timer = undefined;
    await this.flushUsage();
  }

  /**
   * The key with this hash. An unknown hash may be a key created by another process a moment ago,
   * so it waits for a refresh that started after the request arrived; concurrent misses share one
   * query, so a flood of made-up keys costs at most one query at a time.
   */
  async find(hash: string): Promise<KnownKey | undefined> {
    const known = this.byHash.get(hash);
    if (known) return known;
    const arrived = this.options.clock.now();
    while (this.knownSince < arrived) await this.refresh();
    return this.byHash.get(hash);
  }

  /** Notes a use; the timer writes it, so a request never waits for it. */
  markUsed(id: string) {
    const now = this.options.clock.now();
    const last = this.lastMarked.get(id);
    if (last !== undefined && now - last < this.options.lastUsedEveryMs) return;
    this.lastMarked.set(id, now);
    this.used.add(id);
  }

  /** A key revoked by this process stops working here at once (others see it within refreshMs). */
  forget(hash: string) {
    this.byHash.delete(hash);
  }

  refresh(): Promise<void> {
    this.refreshing ??= this.load().finally(() => {
      this.refreshing = undefined;
    });
    return this.refreshing;
  }

  private async load() {
    const started = this.options.clock.now();
    // Before migration 0002 there are no keys to know (expand/contract: README).
    const changes = this.capabilities.apiKeys ? await keysChangedSince(this.sql, this.revision) : [];
    for (const change of changes) this.apply(change);
    this.knownSince = started;
  }

  private apply(change: KeyChange) {
    if (change.revoked) {
      this.byHash.delete(change.hash);
      this.lastMarked.delete(change.id);
    } else {
      this.byHash.set(change.hash, { id: change.id, name: change.name, role: change.role });
    }
    this.revision = Math.max(this.revision, change.revision);
  }

  /** What the timer does: learn of keys created or revoked elsewhere, then record last-used times. */
  async sync() {
    try {
      await this.refresh();
      await this.flushUsage();
    } catch (error) {
      // The keys known so far keep working; the next tick tries again.
      this.options.logger.warn({ err: toError(error) }, 'could not refresh API keys');
    }
  }

  private async flushUsage() {
    if (this.used.size === 0) return; // also before migration 0002: no key can have been used
    const ids = [...this.used];
    this.used.clear();
    await recordLastUsed(this.sql, ids);
  }
}
