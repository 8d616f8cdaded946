-- The status an order was accepted with (issue 19): an idempotent replay answers it again and the
-- order's log starts with it, stored instead of inferred from two timestamps being equal. Expand
-- step: a nullable column (no rewrite); code before this migration keeps inserting orders without
-- it while it still serves, and a trigger fills it for those rows (a row's status when it is
-- inserted is the status it was accepted with); the WHEN clause keeps the trigger off the intake's
-- own inserts, which write it. Rows stored before are filled once here, from what the previous code
-- inferred: accepted reserved when reserved in the transaction that stored it, failed when it failed
-- there (it was never updated after), pending otherwise.
SET LOCAL lock_timeout = '5s';--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "born_status" text;--> statement-breakpoint
CREATE FUNCTION "stockroom_born_status"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  NEW.born_status := NEW.status;
  RETURN NEW;
END $$;--> statement-breakpoint
CREATE TRIGGER "orders_born_status" BEFORE INSERT ON "orders" FOR EACH ROW WHEN (NEW.born_status IS NULL) EXECUTE FUNCTION "stockroom_born_status"();--> statement-breakpoint
UPDATE "orders" SET "born_status" = CASE
  WHEN "reserved_at" IS NOT NULL AND "reserved_at" = "created_at" THEN 'reserved'
  WHEN "status" = 'failed' AND "updated_at" = "created_at" THEN 'failed'
  ELSE 'pending' END;
