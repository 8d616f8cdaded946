-- Fulfilments, returns and partial refunds (issue 22). Expand step, with no downtime: processes of
-- the previous version keep serving while this runs and until they are replaced; they never read
-- the new tables or columns.
-- - orders first: its exclusive lock (a defaulted column: no rewrite, the default is a constant)
--   waits for the transactions using orders and holds off new ones until this one commits, a few
--   milliseconds later. Taken first, it cannot close a cycle: a stock batch that read orders and
--   would then update them can never be left waiting behind a lock taken here after it.
-- - Then two new tables, empty, with their indexes and foreign keys (checked at once), and the
--   ledger's new column, last: stock batches that write the ledger without orders finish first.
-- - lock_timeout: behind a long transaction the migrator gives up and retries, rather than make
--   requests queue behind it.
-- - No CHECK keeps an order's `refunded` within its total: one here would be validated by a scan of
--   every order under that exclusive lock. It only ever adds what the provider refunded (which
--   refuses more than is left of the charge), and the statement that adds a return's refund
--   refuses to pass the total.
SET LOCAL lock_timeout = '2s';--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "refunded" numeric(14, 2) DEFAULT '0' NOT NULL;--> statement-breakpoint
CREATE TABLE "fulfilments" (
	"id" uuid PRIMARY KEY NOT NULL,
	"order_id" uuid NOT NULL,
	"location_id" uuid NOT NULL,
	"items" jsonb NOT NULL,
	"tracking_number" text,
	"idempotency_scope" text,
	"idempotency_key" text,
	"request_hash" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL
);
--> statement-breakpoint
CREATE TABLE "returns" (
	"id" uuid PRIMARY KEY NOT NULL,
	"order_id" uuid NOT NULL,
	"location_id" uuid NOT NULL,
	"items" jsonb NOT NULL,
	"refund_status" text,
	"refund_amount" numeric(14, 2),
	"refund_reference" text,
	"refund_key" text,
	"refund_due_at" timestamp with time zone,
	"refund_until" timestamp with time zone,
	"refund_attempts" integer DEFAULT 0 NOT NULL,
	"refund_attention" text,
	"idempotency_scope" text,
	"idempotency_key" text,
	"request_hash" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "returns_refund_status_known" CHECK ("returns"."refund_status" IN ('pending', 'succeeded', 'failed')),
	CONSTRAINT "returns_refund_complete" CHECK (("returns"."refund_status" IS NULL) = ("returns"."refund_amount" IS NULL AND "returns"."refund_key" IS NULL)),
	CONSTRAINT "returns_refund_amount_not_negative" CHECK ("returns"."refund_amount" >= 0)
);
--> statement-breakpoint
CREATE INDEX "fulfilments_order_idx" ON "fulfilments" USING btree ("order_id","id");--> statement-breakpoint
CREATE UNIQUE INDEX "fulfilments_idempotency_key" ON "fulfilments" USING btree ("idempotency_scope","idempotency_key") WHERE "fulfilments"."idempotency_key" IS NOT NULL;--> statement-breakpoint
CREATE INDEX "returns_order_idx" ON "returns" USING btree ("order_id","id");--> statement-breakpoint
CREATE INDEX "returns_refund_due_idx" ON "returns" USING btree ("refund_due_at") WHERE "returns"."refund_due_at" IS NOT NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "returns_idempotency_key" ON "returns" USING btree ("idempotency_scope","idempotency_key") WHERE "returns"."idempotency_key" IS NOT NULL;--> statement-breakpoint
ALTER TABLE "fulfilments" ADD CONSTRAINT "fulfilments_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "fulfilments" ADD CONSTRAINT "fulfilments_location_id_locations_id_fk" FOREIGN KEY ("location_id") REFERENCES "public"."locations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "returns" ADD CONSTRAINT "returns_order_id_orders_id_fk" FOREIGN KEY ("order_id") REFERENCES "public"."orders"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "returns" ADD CONSTRAINT "returns_location_id_locations_id_fk" FOREIGN KEY ("location_id") REFERENCES "public"."locations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "stock_movements" ADD COLUMN "return_id" uuid;
