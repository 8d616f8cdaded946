-- The ledger rows written before locations are at the default location (issue 20). In a
-- transaction of its own, after 0007: ledger rows are only ever inserted, so the update waits on
-- nobody and nobody waits on it; new rows already name their location (the column's default).
-- The check constraint is validated without blocking writers, after which SET NOT NULL needs no
-- scan of its own; the foreign key likewise.
UPDATE "stock_movements" SET "location_id" = stockroom_default_location() WHERE "location_id" IS NULL;--> statement-breakpoint
ALTER TABLE "stock_movements" ADD CONSTRAINT "stock_movements_location_id_not_null" CHECK ("location_id" IS NOT NULL) NOT VALID;--> statement-breakpoint
ALTER TABLE "stock_movements" VALIDATE CONSTRAINT "stock_movements_location_id_not_null";--> statement-breakpoint
ALTER TABLE "stock_movements" VALIDATE CONSTRAINT "stock_movements_location_id_locations_id_fk";--> statement-breakpoint
SET LOCAL lock_timeout = '2s';--> statement-breakpoint
ALTER TABLE "stock_movements" ALTER COLUMN "location_id" SET NOT NULL;--> statement-breakpoint
ALTER TABLE "stock_movements" DROP CONSTRAINT "stock_movements_location_id_not_null";
