-- The order lifecycle redone (issue 9): an order is one row (items inline, its idempotency key on
-- it, a timestamp per normal step instead of a log row), stock sold in a batch is one ledger row.
-- Not an expand step: stop the old processes, start a new one (it applies this), as the README
-- says. Orders in flight finish under the new code: their rows are carried over as they are.
ALTER TABLE "orders" ADD COLUMN "items" jsonb;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "idempotency_scope" text;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "idempotency_key" text;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "request_hash" text;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "reserved_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "processed_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "shipped_at" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "reconcile_until" timestamp with time zone;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "reconcile_attempts" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "attention" text;--> statement-breakpoint
UPDATE "orders" o SET "items" = coalesce((
  SELECT jsonb_agg(jsonb_build_object('productId', i.product_id, 'quantity', i.quantity, 'unitPrice', i.unit_price::text) ORDER BY i.line)
  FROM "order_items" i WHERE i.order_id = o.id), '[]'::jsonb);--> statement-breakpoint
ALTER TABLE "orders" ALTER COLUMN "items" SET NOT NULL;--> statement-breakpoint
-- Keys stored before keys had scopes were placed with the client token, as nearly all are.
UPDATE "orders" o SET "idempotency_scope" = 'token:client', "idempotency_key" = k.key, "request_hash" = k.request_hash
FROM "idempotency_keys" k WHERE k.order_id = o.id;--> statement-breakpoint
CREATE UNIQUE INDEX "orders_idempotency_key" ON "orders" USING btree ("idempotency_scope","idempotency_key") WHERE "orders"."idempotency_key" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "orders_key_created_idx" ON "orders" USING btree ("created_at") WHERE "orders"."idempotency_key" IS NOT NULL;--> statement-breakpoint
-- The normal steps become timestamps; GET /orders/:id/logs derives their entries from them.
UPDATE "orders" o SET "reserved_at" = l.at FROM (
  SELECT order_id, min(processed_at) AS at FROM "order_logs" WHERE status = 'reserved' AND message LIKE 'stock reserved%' GROUP BY order_id) l
WHERE l.order_id = o.id;--> statement-breakpoint
UPDATE "orders" o SET "processed_at" = l.at FROM (
  SELECT order_id, min(processed_at) AS at FROM "order_logs" WHERE status = 'processed' AND message LIKE 'paid (charge%' GROUP BY order_id) l
WHERE l.order_id = o.id;--> statement-breakpoint
UPDATE "orders" o SET "shipped_at" = l.at FROM (
  SELECT order_id, min(processed_at) AS at FROM "order_logs" WHERE status = 'shipped' AND message = 'shipped' GROUP BY order_id) l
WHERE l.order_id = o.id;--> statement-breakpoint
DELETE FROM "order_logs" WHERE (status = 'pending' AND message = 'order accepted')
  OR (status = 'reserved' AND message LIKE 'stock reserved%')
  OR (status = 'processed' AND message LIKE 'paid (charge%')
  OR (status = 'shipped' AND message = 'shipped');--> statement-breakpoint
UPDATE "orders" SET "reconcile_until" = "reconcile_at" + interval '24 hours' WHERE "reconcile_at" IS NOT NULL;--> statement-breakpoint
-- Whether any order ever named a product (erase or archive it), kept with its stock.
ALTER TABLE "inventory_levels" ADD COLUMN "orders_placed" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
UPDATE "inventory_levels" l SET "orders_placed" = c.n FROM (SELECT product_id, count(*)::int AS n FROM "order_items" GROUP BY product_id) c
WHERE c.product_id = l.product_id;--> statement-breakpoint
-- A sale of many orders in one batch is one ledger row naming them all.
ALTER TABLE "stock_movements" ADD COLUMN "order_ids" uuid[];--> statement-breakpoint
UPDATE "stock_movements" SET "order_ids" = ARRAY["order_id"] WHERE "order_id" IS NOT NULL;--> statement-breakpoint
ALTER TABLE "stock_movements" DROP COLUMN "order_id";--> statement-breakpoint
DROP TABLE "idempotency_keys";--> statement-breakpoint
DROP TABLE "order_items";--> statement-breakpoint
-- Listing by status walks the primary key now; no index makes every status change update it.
DROP INDEX "orders_status_idx";--> statement-breakpoint
-- A fenced write that wrote fewer rows than it meant to fails its statement (SQLSTATE SR001), so a
-- stock batch can send COMMIT right behind its writes: a lost race rolls the batch back.
CREATE FUNCTION "stockroom_fence"(expected integer, written integer) RETURNS integer LANGUAGE plpgsql AS $$
BEGIN
  IF written <> expected THEN
    RAISE EXCEPTION 'a fenced write lost a race: % of % rows written', written, expected USING ERRCODE = 'SR001';
  END IF;
  RETURN written;
END $$;--> statement-breakpoint
-- Outbox records are written far more than read: json stores the text as given, no re-encoding.
ALTER TABLE "events" ALTER COLUMN "changes" SET DATA TYPE json USING "changes"::json;
