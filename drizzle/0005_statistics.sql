-- Statistics that follow the tables (issue 18). These tables grow with the shop's traffic (or a
-- bulk import), from empty, by hundreds of rows a second. PostgreSQL's defaults analyse a table
-- when 50 rows + 10 % of it changed, and vacuum at 50 + 20 %: on a large table that is hours of
-- traffic between two looks, and its statistics (which plans are made from) fall behind. Here a
-- threshold in rows with a small share: analysed every 1,000 rows + 2 %, vacuumed every 1,000 +
-- 5 % of dead rows, and the append-mostly ones vacuumed after 5 % new rows too (the visibility map,
-- so index-only scans stay cheap, and freezing in small steps). Only storage parameters: a brief
-- SHARE UPDATE EXCLUSIVE lock each, no rewrite, nothing that code before or after this migration
-- notices. The service also analyses a table that doubled since its last analysis, within seconds
-- (src/db/statistics.ts), for the first minutes of a table's life when autovacuum has not come round.
SET LOCAL lock_timeout = '1s';--> statement-breakpoint
ALTER TABLE "orders" SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_scale_factor = 0.05, autovacuum_vacuum_insert_threshold = 1000, autovacuum_vacuum_insert_scale_factor = 0.05);--> statement-breakpoint
ALTER TABLE "order_logs" SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_insert_threshold = 1000, autovacuum_vacuum_insert_scale_factor = 0.05);--> statement-breakpoint
ALTER TABLE "stock_movements" SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_insert_threshold = 1000, autovacuum_vacuum_insert_scale_factor = 0.05);--> statement-breakpoint
ALTER TABLE "events" SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_scale_factor = 0.05, autovacuum_vacuum_insert_threshold = 1000, autovacuum_vacuum_insert_scale_factor = 0.05);--> statement-breakpoint
ALTER TABLE "webhook_deliveries" SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_scale_factor = 0.05, autovacuum_vacuum_insert_threshold = 1000, autovacuum_vacuum_insert_scale_factor = 0.05);--> statement-breakpoint
ALTER TABLE "job_runs" SET (autovacuum_analyze_threshold = 1000, autovacuum_analyze_scale_factor = 0.02, autovacuum_vacuum_threshold = 1000, autovacuum_vacuum_scale_factor = 0.05);
