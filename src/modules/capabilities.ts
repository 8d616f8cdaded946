import type { Sql } from '../db/client.ts';
import { AppError } from '../lib/errors.ts';

/**
 * What the database schema offers to this build. During an expand/contract rollout the code runs
 * against the schema before and after an additive migration; a feature whose tables are not there
 * yet answers 503 instead of failing, and the rest of the service is unaffected.
 */
const NAMES = { categories: 'categories', apiKeys: 'API keys', webhooks: 'webhooks and low-stock thresholds' } as const;

export class Capabilities {
  categories = false;
  /** Migration 0002: without it only the bootstrap tokens (and customer tokens) authenticate. */
  apiKeys = false;
  /** Migration 0004: webhook subscriptions and products' `low_stock_threshold`. */
  webhooks = false;

  static async detect(sql: Sql): Promise<Capabilities> {
    const capabilities = new Capabilities();
    await capabilities.refresh(sql);
    return capabilities;
  }

  async refresh(sql: Sql): Promise<void> {
    const rows = await sql<{ categories: boolean; apiKeys: boolean; webhooks: boolean }[]>`
      SELECT to_regclass('product_categories') IS NOT NULL AS categories, to_regclass('api_keys') IS NOT NULL AS "apiKeys",
             to_regclass('webhooks') IS NOT NULL AS webhooks`;
    this.categories = rows[0]?.categories === true;
    this.apiKeys = rows[0]?.apiKeys === true;
    this.webhooks = rows[0]?.webhooks === true;
  }

  require(feature: keyof typeof NAMES): void {
    if (!this[feature]) throw new AppError('unavailable', `${NAMES[feature]} are not available until the database is migrated`);
  }
}
