-- CreateEnum
CREATE TYPE "resource_kind" AS ENUM ('mysql', 'mongodb', 'rabbitmq', 's3');

-- CreateEnum
CREATE TYPE "resource_state" AS ENUM ('provisioning', 'ready', 'failed', 'retained', 'destroying', 'destroyed');

-- CreateEnum
CREATE TYPE "instance_export_state" AS ENUM ('running', 'succeeded', 'failed');

-- AlterTable
ALTER TABLE "instances" ADD COLUMN     "purge_after" TIMESTAMP(3),
ADD COLUMN     "purged_at" TIMESTAMP(3);

-- CreateTable
CREATE TABLE "clusters" (
    "id" UUID NOT NULL,
    "kind" "resource_kind" NOT NULL,
    "name" TEXT NOT NULL,
    "settings" JSONB NOT NULL,
    "secrets" TEXT NOT NULL,
    "accepts_new" BOOLEAN NOT NULL DEFAULT true,
    "version" INTEGER NOT NULL DEFAULT 1,
    "last_tested_at" TIMESTAMP(3),
    "last_test_error" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "clusters_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "resources" (
    "id" UUID NOT NULL,
    "instance_id" UUID NOT NULL,
    "kind" "resource_kind" NOT NULL,
    "cluster_id" UUID NOT NULL,
    "state" "resource_state" NOT NULL DEFAULT 'provisioning',
    "names" JSONB NOT NULL,
    "password" TEXT NOT NULL,
    "pending_password" TEXT,
    "credentials" TEXT,
    "attempts" INTEGER NOT NULL DEFAULT 0,
    "last_error" TEXT,
    "next_attempt_at" TIMESTAMP(3),
    "ready_at" TIMESTAMP(3),
    "rotated_at" TIMESTAMP(3),
    "destroyed_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "resources_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "instance_exports" (
    "id" UUID NOT NULL,
    "instance_id" UUID NOT NULL,
    "state" "instance_export_state" NOT NULL DEFAULT 'running',
    "location" TEXT NOT NULL,
    "databases" TEXT[],
    "bytes" BIGINT,
    "sha256" TEXT,
    "error" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "finished_at" TIMESTAMP(3),

    CONSTRAINT "instance_exports_pkey" PRIMARY KEY ("id")
);

-- CreateIndex
CREATE UNIQUE INDEX "clusters_kind_name_key" ON "clusters"("kind", "name");

-- CreateIndex
CREATE INDEX "resources_instance_id_idx" ON "resources"("instance_id");

-- CreateIndex
CREATE INDEX "resources_cluster_id_state_idx" ON "resources"("cluster_id", "state");

-- CreateIndex
CREATE INDEX "resources_state_next_attempt_at_idx" ON "resources"("state", "next_attempt_at");

-- CreateIndex
CREATE INDEX "instance_exports_instance_id_created_at_idx" ON "instance_exports"("instance_id", "created_at" DESC);

-- AddForeignKey
ALTER TABLE "resources" ADD CONSTRAINT "resources_instance_id_fkey" FOREIGN KEY ("instance_id") REFERENCES "instances"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "resources" ADD CONSTRAINT "resources_cluster_id_fkey" FOREIGN KEY ("cluster_id") REFERENCES "clusters"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "instance_exports" ADD CONSTRAINT "instance_exports_instance_id_fkey" FOREIGN KEY ("instance_id") REFERENCES "instances"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- One live resource of each kind per instance (destroyed ones stay as history): two racing placements
-- cannot give an instance two MySQL database sets.
CREATE UNIQUE INDEX "resources_one_live_per_kind" ON "resources"("instance_id", "kind") WHERE "state" <> 'destroyed';
