-- API keys (issue 13). Only new objects: code built before this migration keeps working.
CREATE SEQUENCE "public"."api_keys_revision_seq";--> statement-breakpoint
CREATE TABLE "api_keys" (
	"id" uuid PRIMARY KEY NOT NULL,
	"name" text NOT NULL,
	"role" text NOT NULL,
	"prefix" text NOT NULL,
	"hash" text NOT NULL,
	"revision" bigint NOT NULL,
	"last_used_at" timestamp with time zone,
	"revoked_at" timestamp with time zone,
	"created_at" timestamp with time zone DEFAULT now() NOT NULL,
	CONSTRAINT "api_keys_role_known" CHECK ("api_keys"."role" IN ('admin', 'storefront', 'warehouse', 'read-only'))
);
--> statement-breakpoint
CREATE UNIQUE INDEX "api_keys_hash_key" ON "api_keys" USING btree ("hash");--> statement-breakpoint
CREATE INDEX "api_keys_revision_idx" ON "api_keys" USING btree ("revision");
