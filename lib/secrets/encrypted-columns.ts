/**
 * Every column that holds a ciphertext of lib/secrets (table and column as in PostgreSQL). Key rotation rewrites
 * each; a test fails when a column with ciphertexts is missing here.
 */
export const ENCRYPTED_COLUMNS = [
  { table: 'instances', column: 'secrets' },
  { table: 'deployments', column: 'configuration_secrets' },
  { table: 'appservers', column: 'vm_secrets' },
  { table: 'clusters', column: 'secrets' },
  { table: 'resources', column: 'password' },
  { table: 'resources', column: 'pending_password' },
  { table: 'resources', column: 'credentials' },
  { table: 'certificates', column: 'private_key' },
  { table: 'acme_accounts', column: 'account_key' },
] as const
