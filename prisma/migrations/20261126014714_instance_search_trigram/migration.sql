-- Instance search (name ILIKE, slug LIKE with a pattern on both sides) uses these indexes instead of
-- reading every row. pg_trgm ships with PostgreSQL (contrib, also in embedded-postgres) and is a trusted
-- extension: the database owner may create it without superuser rights.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- CreateIndex
CREATE INDEX "instances_name_trgm_idx" ON "instances" USING GIN ("name" gin_trgm_ops);

-- CreateIndex
CREATE INDEX "instances_slug_trgm_idx" ON "instances" USING GIN ("slug" gin_trgm_ops);
