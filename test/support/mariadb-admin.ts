import { randomBytes } from 'node:crypto'
import mysql from 'mysql2/promise'
import { MARIADB, requireMariadb } from './services'

export interface MariadbAdmin {
  username: string
  password: string
  /** A root connection, for tests that look at the server directly. */
  root: mysql.Connection
  drop(): Promise<void>
}

/**
 * A cluster administrator on the real MariaDB, as production has one: a user with a password, all privileges
 * and GRANT OPTION (root here has no password, which cluster settings refuse).
 */
export async function createMariadbAdmin(tag: string): Promise<MariadbAdmin> {
  await requireMariadb()
  const root = await mysql.createConnection({ host: MARIADB.host, port: MARIADB.port, user: MARIADB.username, password: MARIADB.password })
  const username = `admin_${tag}`.slice(0, 32)
  const password = randomBytes(18).toString('base64url')
  await root.query('CREATE USER ?@? IDENTIFIED BY ?', [username, '%', password])
  await root.query('GRANT ALL PRIVILEGES ON *.* TO ?@? WITH GRANT OPTION', [username, '%'])
  return {
    username,
    password,
    root,
    async drop() {
      await root.query('DROP USER IF EXISTS ?@?', [username, '%'])
      await root.end()
    },
  }
}
