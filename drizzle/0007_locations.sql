-- Stock at several locations (issue 20). Expand step, with no downtime: processes of the previous
-- version keep serving while this runs and until they are replaced.
-- - New tables (locations, location_levels, transfers) and nullable or defaulted columns only: no
--   table is rewritten, each ALTER holds its lock for the length of this short transaction only
--   (lock_timeout: the migrator retries rather than queue requests behind a long transaction).
-- - The default location is made here; every product's stock moves there (one row each).
-- - What the previous version still writes follows: it changes a product's totals in
--   inventory_levels (it knows no `version`), and a trigger applies the same change to the
--   product's default location; its ledger rows name no location, and the column's default names
--   the default one. This version bumps `version` on every write of its own, so the trigger stays
--   out of its way (its WHEN clause never calls the function).
-- - 0008 fills the location of the ledger rows written before, in its own transaction.
SET LOCAL lock_timeout = '2s';--> statement-breakpoint
CREATE TABLE "locations" (
	"id" uuid PRIMARY KEY NOT NULL,
	"code" text NOT NULL,
	"name" text NOT NULL,
	"kind" text DEFAULT 'warehouse' NOT NULL,
	"priority" integer DEFAULT 100 NOT NULL,
	"active" boolean DEFAULT true NOT NULL,
	"is_default" boolean DEFAULT false NOT NULL,
	"deleted_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "locations_kind_known" CHECK ("locations"."kind" IN ('warehouse', 'store')),
	CONSTRAINT "locations_default_active" CHECK (NOT "locations"."is_default" OR "locations"."active")
);
--> statement-breakpoint
CREATE UNIQUE INDEX "locations_code_lower_key" ON "locations" USING btree (lower("code")) WHERE "locations"."deleted_at" IS NULL;--> statement-breakpoint
CREATE UNIQUE INDEX "locations_one_default" ON "locations" USING btree ("is_default") WHERE "locations"."is_default";--> statement-breakpoint
INSERT INTO "locations" ("id", "code", "name", "kind", "priority", "is_default")
VALUES ('01900000-0000-7000-8000-00000000d0c0', 'default', 'Default location', 'warehouse', 100, true);--> statement-breakpoint
CREATE FUNCTION "stockroom_default_location"() RETURNS uuid LANGUAGE sql STABLE AS $$
  SELECT "id" FROM "locations" WHERE "is_default"
$$;--> statement-breakpoint
CREATE TABLE "location_levels" (
	"product_id" uuid NOT NULL,
	"location_id" uuid NOT NULL,
	"on_hand" integer DEFAULT 0 NOT NULL,
	"reserved" integer DEFAULT 0 NOT NULL,
	"held" integer DEFAULT 0 NOT NULL,
	"incoming" integer DEFAULT 0 NOT NULL,
	"awaiting_shipment" integer DEFAULT 0 NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "location_levels_product_id_location_id_pk" PRIMARY KEY("product_id","location_id"),
	CONSTRAINT "location_levels_on_hand_not_negative" CHECK ("location_levels"."on_hand" >= 0),
	CONSTRAINT "location_levels_reserved_within_on_hand" CHECK ("location_levels"."reserved" >= 0 AND "location_levels"."reserved" <= "location_levels"."on_hand"),
	CONSTRAINT "location_levels_held_within_reserved" CHECK ("location_levels"."held" >= 0 AND "location_levels"."held" <= "location_levels"."reserved"),
	CONSTRAINT "location_levels_incoming_not_negative" CHECK ("location_levels"."incoming" >= 0),
	CONSTRAINT "location_levels_awaiting_shipment_not_negative" CHECK ("location_levels"."awaiting_shipment" >= 0)
);
--> statement-breakpoint
ALTER TABLE "location_levels" ADD CONSTRAINT "location_levels_product_id_products_id_fk" FOREIGN KEY ("product_id") REFERENCES "public"."products"("id") ON DELETE cascade ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "location_levels" ADD CONSTRAINT "location_levels_location_id_locations_id_fk" FOREIGN KEY ("location_id") REFERENCES "public"."locations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE TABLE "transfers" (
	"id" uuid PRIMARY KEY NOT NULL,
	"from_location_id" uuid NOT NULL,
	"to_location_id" uuid NOT NULL,
	"status" text DEFAULT 'in_transit' NOT NULL,
	"items" jsonb NOT NULL,
	"idempotency_scope" text,
	"idempotency_key" text,
	"request_hash" text,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	"updated_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "transfers_status_known" CHECK ("transfers"."status" IN ('in_transit', 'received', 'cancelled')),
	CONSTRAINT "transfers_two_places" CHECK ("transfers"."from_location_id" <> "transfers"."to_location_id")
);
--> statement-breakpoint
ALTER TABLE "transfers" ADD CONSTRAINT "transfers_from_location_id_locations_id_fk" FOREIGN KEY ("from_location_id") REFERENCES "public"."locations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
ALTER TABLE "transfers" ADD CONSTRAINT "transfers_to_location_id_locations_id_fk" FOREIGN KEY ("to_location_id") REFERENCES "public"."locations"("id") ON DELETE no action ON UPDATE no action;--> statement-breakpoint
CREATE UNIQUE INDEX "transfers_idempotency_key" ON "transfers" USING btree ("idempotency_scope","idempotency_key") WHERE "transfers"."idempotency_key" IS NOT NULL;--> statement-breakpoint
ALTER TABLE "inventory_levels" ADD COLUMN "held" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "inventory_levels" ADD COLUMN "incoming" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "inventory_levels" ADD COLUMN "version" integer DEFAULT 0 NOT NULL;--> statement-breakpoint
ALTER TABLE "inventory_levels" ADD CONSTRAINT "inventory_held_within_reserved" CHECK ("inventory_levels"."held" >= 0 AND "inventory_levels"."held" <= "inventory_levels"."reserved");--> statement-breakpoint
ALTER TABLE "inventory_levels" ADD CONSTRAINT "inventory_incoming_not_negative" CHECK ("inventory_levels"."incoming" >= 0);--> statement-breakpoint
ALTER TABLE "stock_movements" ADD COLUMN "location_id" uuid;--> statement-breakpoint
ALTER TABLE "stock_movements" ALTER COLUMN "location_id" SET DEFAULT stockroom_default_location();--> statement-breakpoint
ALTER TABLE "stock_movements" ADD COLUMN "transfer_id" uuid;--> statement-breakpoint
-- Checked for rows written from now on; 0008 validates it once every row names its location.
ALTER TABLE "stock_movements" ADD CONSTRAINT "stock_movements_location_id_locations_id_fk" FOREIGN KEY ("location_id") REFERENCES "public"."locations"("id") ON DELETE no action ON UPDATE no action NOT VALID;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "allocations" jsonb;--> statement-breakpoint
ALTER TABLE "orders" ADD COLUMN "location_ids" uuid[];--> statement-breakpoint
ALTER TABLE "nodes" ADD COLUMN "stock_model" integer;--> statement-breakpoint
-- Every product's stock, at the default location.
INSERT INTO "location_levels" ("product_id", "location_id", "on_hand", "reserved", "awaiting_shipment")
SELECT "product_id", stockroom_default_location(), "on_hand", "reserved", "awaiting_shipment" FROM "inventory_levels";--> statement-breakpoint
-- A write of the previous version (which knows no `version`) carried to the default location.
CREATE FUNCTION "stockroom_totals_to_default"() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
  IF TG_OP = 'UPDATE' THEN
    UPDATE location_levels SET
      on_hand = on_hand + (NEW.on_hand - OLD.on_hand),
      reserved = reserved + (NEW.reserved - OLD.reserved),
      awaiting_shipment = awaiting_shipment + (NEW.awaiting_shipment - OLD.awaiting_shipment),
      updated_at = now()
    WHERE product_id = NEW.product_id AND location_id = stockroom_default_location();
  ELSE
    INSERT INTO location_levels (product_id, location_id, on_hand, reserved, awaiting_shipment)
    VALUES (NEW.product_id, stockroom_default_location(), NEW.on_hand, NEW.reserved, NEW.awaiting_shipment)
    ON CONFLICT (product_id, location_id) DO NOTHING;
  END IF;
  RETURN NULL;
END $$;--> statement-breakpoint
CREATE TRIGGER "inventory_levels_inserted_by_previous_version" AFTER INSERT ON "inventory_levels"
FOR EACH ROW WHEN (NEW.version = 0) EXECUTE FUNCTION "stockroom_totals_to_default"();--> statement-breakpoint
CREATE TRIGGER "inventory_levels_changed_by_previous_version" AFTER UPDATE ON "inventory_levels"
FOR EACH ROW WHEN (NEW.version = OLD.version AND (NEW.on_hand, NEW.reserved, NEW.awaiting_shipment) IS DISTINCT FROM (OLD.on_hand, OLD.reserved, OLD.awaiting_shipment))
EXECUTE FUNCTION "stockroom_totals_to_default"();
