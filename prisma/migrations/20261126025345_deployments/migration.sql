-- CreateEnum
CREATE TYPE "vm_driver_kind" AS ENUM ('local', 'ovh', 'nomad');

-- CreateEnum
CREATE TYPE "deployment_status" AS ENUM ('building', 'activating', 'active', 'superseded', 'failed', 'cancelled', 'terminated');

-- CreateEnum
CREATE TYPE "deployment_trigger" AS ENUM ('deploy', 'rollback', 'rollout');

-- CreateEnum
CREATE TYPE "appserver_state" AS ENUM ('new', 'provisioning', 'configuring', 'starting', 'healthy', 'active', 'draining', 'inactive', 'terminating', 'terminated', 'failed');

-- CreateEnum
CREATE TYPE "appserver_log_kind" AS ENUM ('transition', 'info', 'error');

-- CreateEnum
CREATE TYPE "rollout_status" AS ENUM ('running', 'paused', 'cancelled', 'completed');

-- CreateEnum
CREATE TYPE "rollout_item_status" AS ENUM ('pending', 'deploying', 'succeeded', 'failed', 'skipped', 'cancelled');

-- AlterTable
ALTER TABLE "instances" ADD COLUMN     "appserver_count" INTEGER NOT NULL DEFAULT 1,
ADD COLUMN     "secrets" TEXT;

-- CreateTable
CREATE TABLE "deployments" (
    "id" UUID NOT NULL,
    "instance_id" UUID NOT NULL,
    "number" INTEGER NOT NULL,
    "status" "deployment_status" NOT NULL DEFAULT 'building',
    "trigger" "deployment_trigger" NOT NULL,
    "driver" "vm_driver_kind" NOT NULL,
    "appserver_count" INTEGER NOT NULL,
    "configuration" JSONB NOT NULL,
    "configuration_secrets" TEXT NOT NULL,
    "secret_keys" TEXT[],
    "health_path" TEXT NOT NULL,
    "release" TEXT,
    "rollback_of_id" UUID,
    "rollout_id" UUID,
    "requested_by_id" TEXT,
    "requested_by" TEXT NOT NULL,
    "error" TEXT,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,
    "activated_at" TIMESTAMP(3),
    "superseded_at" TIMESTAMP(3),
    "finished_at" TIMESTAMP(3),

    CONSTRAINT "deployments_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "appservers" (
    "id" UUID NOT NULL,
    "deployment_id" UUID NOT NULL,
    "instance_id" UUID NOT NULL,
    "index" INTEGER NOT NULL,
    "driver" "vm_driver_kind" NOT NULL,
    "state" "appserver_state" NOT NULL DEFAULT 'new',
    "state_changed_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "external_id" TEXT,
    "vm_facts" JSONB,
    "vm_secrets" TEXT,
    "address" TEXT,
    "failed_phase" "appserver_state",
    "error" TEXT,
    "phase_deadline" TIMESTAMP(3),
    "next_check_at" TIMESTAMP(3),
    "health_checks" INTEGER NOT NULL DEFAULT 0,
    "drain_until" TIMESTAMP(3),
    "vanished_at" TIMESTAMP(3),
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "terminated_at" TIMESTAMP(3),

    CONSTRAINT "appservers_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "appserver_log_lines" (
    "id" BIGSERIAL NOT NULL,
    "appserver_id" UUID NOT NULL,
    "at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "kind" "appserver_log_kind" NOT NULL,
    "from_state" "appserver_state",
    "to_state" "appserver_state",
    "message" TEXT NOT NULL,

    CONSTRAINT "appserver_log_lines_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "instance_routes" (
    "instance_id" UUID NOT NULL,
    "url" TEXT,
    "routing" JSONB NOT NULL,
    "revision" INTEGER NOT NULL DEFAULT 1,
    "updated_at" TIMESTAMP(3) NOT NULL,

    CONSTRAINT "instance_routes_pkey" PRIMARY KEY ("instance_id")
);

-- CreateTable
CREATE TABLE "rollouts" (
    "id" UUID NOT NULL,
    "status" "rollout_status" NOT NULL DEFAULT 'running',
    "selection" JSONB NOT NULL,
    "concurrency" INTEGER NOT NULL,
    "failure_budget_percent" INTEGER NOT NULL,
    "total" INTEGER NOT NULL,
    "paused_reason" TEXT,
    "created_by_id" TEXT,
    "created_by" TEXT NOT NULL,
    "created_at" TIMESTAMP(3) NOT NULL DEFAULT CURRENT_TIMESTAMP,
    "updated_at" TIMESTAMP(3) NOT NULL,
    "finished_at" TIMESTAMP(3),

    CONSTRAINT "rollouts_pkey" PRIMARY KEY ("id")
);

-- CreateTable
CREATE TABLE "rollout_items" (
    "rollout_id" UUID NOT NULL,
    "instance_id" UUID NOT NULL,
    "position" INTEGER NOT NULL,
    "status" "rollout_item_status" NOT NULL DEFAULT 'pending',
    "deployment_id" UUID,
    "error" TEXT,
    "started_at" TIMESTAMP(3),
    "finished_at" TIMESTAMP(3),

    CONSTRAINT "rollout_items_pkey" PRIMARY KEY ("rollout_id","instance_id")
);

-- CreateIndex
CREATE INDEX "deployments_instance_id_created_at_idx" ON "deployments"("instance_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "deployments_status_idx" ON "deployments"("status");

-- CreateIndex
CREATE UNIQUE INDEX "deployments_instance_id_number_key" ON "deployments"("instance_id", "number");

-- CreateIndex
CREATE INDEX "appservers_instance_id_created_at_idx" ON "appservers"("instance_id", "created_at" DESC);

-- CreateIndex
CREATE INDEX "appservers_state_next_check_at_idx" ON "appservers"("state", "next_check_at");

-- CreateIndex
CREATE UNIQUE INDEX "appservers_deployment_id_index_key" ON "appservers"("deployment_id", "index");

-- CreateIndex
CREATE INDEX "appserver_log_lines_appserver_id_id_idx" ON "appserver_log_lines"("appserver_id", "id");

-- CreateIndex
CREATE INDEX "rollouts_created_at_id_idx" ON "rollouts"("created_at" DESC, "id" DESC);

-- CreateIndex
CREATE INDEX "rollout_items_rollout_id_status_position_idx" ON "rollout_items"("rollout_id", "status", "position");

-- AddForeignKey
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_instance_id_fkey" FOREIGN KEY ("instance_id") REFERENCES "instances"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "deployments" ADD CONSTRAINT "deployments_rollout_id_fkey" FOREIGN KEY ("rollout_id") REFERENCES "rollouts"("id") ON DELETE SET NULL ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "appservers" ADD CONSTRAINT "appservers_deployment_id_fkey" FOREIGN KEY ("deployment_id") REFERENCES "deployments"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "appservers" ADD CONSTRAINT "appservers_instance_id_fkey" FOREIGN KEY ("instance_id") REFERENCES "instances"("id") ON DELETE RESTRICT ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "appserver_log_lines" ADD CONSTRAINT "appserver_log_lines_appserver_id_fkey" FOREIGN KEY ("appserver_id") REFERENCES "appservers"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "instance_routes" ADD CONSTRAINT "instance_routes_instance_id_fkey" FOREIGN KEY ("instance_id") REFERENCES "instances"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- AddForeignKey
ALTER TABLE "rollout_items" ADD CONSTRAINT "rollout_items_rollout_id_fkey" FOREIGN KEY ("rollout_id") REFERENCES "rollouts"("id") ON DELETE CASCADE ON UPDATE CASCADE;

-- One deployment in progress and one active per instance, enforced by the database (not by luck): a second
-- deploy request fails on these indexes instead of racing the first.
CREATE UNIQUE INDEX "deployments_one_in_progress_per_instance" ON "deployments"("instance_id") WHERE "status" IN ('building', 'activating');
CREATE UNIQUE INDEX "deployments_one_active_per_instance" ON "deployments"("instance_id") WHERE "status" = 'active';
