import { sql } from 'drizzle-orm';
import type { Db } from '../db/client.ts';
import { AppError } from '../http/errors.ts';

/**
 * What the database schema offers to this build. During an expand/contract rollout the code runs
 * against the schema before and after an additive migration; a feature whose tables are not there
 * yet answers 503 instead of failing, and the rest of the service is unaffected.
 */
export class Capabilities {
  categories = false;

  static async detect(db: Db): Promise<Capabilities> {
    const capabilities = new Capabilities();
    await capabilities.refresh(db);
    return capabilities;
  }

  async refresh(db: Db): Promise<void> {
    const rows = await db.execute<{ present: boolean }>(sql`SELECT to_regclass('product_categories') IS NOT NULL AS present`);
    this.categories = rows[0]?.present === true;
  }

  require(feature: 'categories'): void {
    if (!this[feature]) throw new AppError('unavailable', `${feature} are not available until the database is migrated`);
  }
}
