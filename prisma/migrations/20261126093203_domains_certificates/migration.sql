-- CreateEnum
CREATE TYPE "domain_state" AS ENUM ('pending', 'verified', 'expired');

-- CreateEnum
CREATE TYPE "dns_record_state" AS ENUM ('pending', 'synced', 'failed', 'deleting');

-- CreateEnum
CREATE TYPE "certificate_source" AS ENUM ('acme', 'uploaded');

-- CreateEnum
CREATE TYPE "certificate_state" AS ENUM ('pending', 'issuing', 'valid', 'renewing', 'failed', 'expired');

-- CreateEnum
CREATE TYPE "acme_order_status" AS ENUM ('pending', 'valid', 'invalid', 'error');

-- CreateTable
CREATE TABLE "domains" (
    "id" UUID NOT NULL,
    "instance_id" UUID NOT NULL,
    "hostname" TEXT NOT NULL,
    "state" "domain_state" NOT NULL DEFAULT 'pending',
    "verification_token" TEXT NOT NULL,
    "verification_expires_at" TIMESTAMP(3) NOT NULL,
    "verified_at" TIMESTAMP(3),
    "check_attempts" INTEGER NOT NULL DEFAULT 0,
    "last_checked_at" TIMESTAMP(3),
    "next_check_at" TIMESTAMP(3),
    "last_check_error" TEXT,
    "points_here" BOOLEAN,
    "acme_delegated" BOOLEAN NOT NULL DEFAULT false,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "domains_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "dns_records" (
    "id" UUID NOT NULL,
    "instance_id" UUID,
    "zone" TEXT NOT NULL,
    "name" TEXT NOT NULL,
    "type" TEXT NOT NULL,
    "values" TEXT[],
    "ttl" INTEGER NOT NULL,
    "state" "dns_record_state" NOT NULL DEFAULT 'pending',
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "synced_at" TIMESTAMP(3),
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "dns_records_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "certificates" (
    "id" UUID NOT NULL,
    "source" "certificate_source" NOT NULL,
    "instance_id" UUID,
    "domain_id" UUID,
    "hostnames" TEXT[],
    "challenge" TEXT,
    "state" "certificate_state" NOT NULL DEFAULT 'pending',
    "certificate" TEXT,
    "private_key" TEXT,
    "fingerprint" TEXT,
    "serial" TEXT,
    "issuer" TEXT,
    "not_before" TIMESTAMP(3),
    "not_after" TIMESTAMP(3),
    "ari_cert_id" TEXT,
    "renew_at" TIMESTAMP(3),
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_attempt_at" TIMESTAMP(3),
    "last_error" TEXT,
    "next_attempt_at" TIMESTAMP(3),
    "lease_until" TIMESTAMP(3),
    "issued_at" TIMESTAMP(3),
    "delivered_fingerprint" TEXT,
    "alerted_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "certificates_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "acme_accounts" (
    "id" UUID NOT NULL,
    "directory_url" TEXT NOT NULL,
    "email" TEXT,
    "account_key" TEXT NOT NULL,
    "account_url" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,

    CONSTRAINT "acme_accounts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "acme_orders" (
    "id" UUID NOT NULL,
    "account_id" UUID NOT NULL,
    "certificate_id" UUID,
    "identifiers" TEXT NOT NULL,
    "registered_domains" TEXT[],
    "renewal" BOOLEAN NOT NULL DEFAULT false,
    "status" "acme_order_status" NOT NULL DEFAULT 'pending',
    "failed_hostnames" TEXT[],
    "error" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMP(3),

    CONSTRAINT "acme_orders_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE INDEX "domains_hostname_idx" ON "domains"("hostname");

-- CreateIndex
CREATE INDEX "domains_state_next_check_at_idx" ON "domains"("state", "next_check_at");

-- CreateIndex
CREATE UNIQUE INDEX "domains_instance_id_hostname_key" ON "domains"("instance_id", "hostname");

-- CreateIndex
CREATE INDEX "dns_records_instance_id_idx" ON "dns_records"("instance_id");

-- CreateIndex
CREATE INDEX "dns_records_state_idx" ON "dns_records"("state");

-- CreateIndex
CREATE UNIQUE INDEX "dns_records_zone_name_type_key" ON "dns_records"("zone", "name", "type");

-- CreateIndex
CREATE INDEX "certificates_instance_id_idx" ON "certificates"("instance_id");

-- CreateIndex
CREATE INDEX "certificates_domain_id_idx" ON "certificates"("domain_id");

-- CreateIndex
CREATE INDEX "certificates_not_after_idx" ON "certificates"("not_after");

-- CreateIndex
CREATE INDEX "certificates_state_renew_at_idx" ON "certificates"("state", "renew_at");

-- CreateIndex
CREATE UNIQUE INDEX "acme_accounts_directory_url_key" ON "acme_accounts"("directory_url");

-- CreateIndex
CREATE INDEX "acme_orders_account_id_created_at_idx" ON "acme_orders"("account_id", "created_at");

-- CreateIndex
CREATE INDEX "acme_orders_identifiers_created_at_idx" ON "acme_orders"("identifiers", "created_at");

-- AddForeignKey
ALTER TABLE "domains" ADD CONSTRAINT "domains_instance_id_fkey" FOREIGN KEY ("instance_id") REFERENCES "instances"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "dns_records" ADD CONSTRAINT "dns_records_instance_id_fkey" FOREIGN KEY ("instance_id") REFERENCES "instances"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "certificates" ADD CONSTRAINT "certificates_instance_id_fkey" FOREIGN KEY ("instance_id") REFERENCES "instances"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "certificates" ADD CONSTRAINT "certificates_domain_id_fkey" FOREIGN KEY ("domain_id") REFERENCES "domains"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "acme_orders" ADD CONSTRAINT "acme_orders_account_id_fkey" FOREIGN KEY ("account_id") REFERENCES "acme_accounts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "acme_orders" ADD CONSTRAINT "acme_orders_certificate_id_fkey" FOREIGN KEY ("certificate_id") REFERENCES "certificates"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- One instance may own a verified hostname: a second organisation's claim can never be verified too.
CREATE UNIQUE INDEX "domains_verified_hostname_key" ON "domains"("hostname") WHERE "state" = 'verified';
