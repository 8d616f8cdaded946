-- Holds: stock promised to a cart for a while (issue 21). Expand step: a new table and its indexes,
-- nothing existing is touched, so processes of the previous version keep serving while this runs
-- (they never read holds, and no hold exists until a process of this version makes one). The
-- lock_timeout is the migrator's rule for every step: a new table locks nothing anyone else holds,
-- but should that change, the migration gives up and is retried rather than queue requests.
SET LOCAL lock_timeout = '2s';--> statement-breakpoint
CREATE TABLE "holds" (
	"id" uuid PRIMARY KEY NOT NULL,
	"customer_id" text,
	"status" text DEFAULT 'active' NOT NULL,
	"items" jsonb NOT NULL,
	"location_ids" uuid[],
	"expires_at" timestamp with time zone NOT NULL,
	"order_id" uuid,
	"idempotency_scope" text,
	"idempotency_key" text,
	"request_hash" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "holds_status_known" CHECK ("holds"."status" IN ('active', 'converted', 'released', 'expired')),
	CONSTRAINT "holds_converted_has_order" CHECK (("holds"."status" = 'converted') = ("holds"."order_id" IS NOT NULL))
);
--> statement-breakpoint
CREATE INDEX "holds_expiry_idx" ON "holds" USING btree ("expires_at") WHERE "holds"."status" = 'active';--> statement-breakpoint
CREATE UNIQUE INDEX "holds_idempotency_key" ON "holds" USING btree ("idempotency_scope","idempotency_key") WHERE "holds"."idempotency_key" IS NOT NULL;
