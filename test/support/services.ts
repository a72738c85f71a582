import net from 'node:net'

/**
 * The real services the resource tests talk to on this machine. A missing one fails the test with the
 * command that starts it (see ../shared notes and .ci/run); nothing is skipped.
 */
export const MARIADB = { host: '127.0.0.1', port: 3306, username: 'root', password: '' }
export const RABBITMQ = {
  amqpHost: '127.0.0.1',
  amqpPort: 5672,
  managementUrl: 'http://127.0.0.1:15672',
  username: 'guest',
  password: 'guest',
}

function canConnect(host: string, port: number, timeoutMs = 2000): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host, port })
    const done = (ok: boolean) => {
      socket.destroy()
      resolve(ok)
    }
    socket.setTimeout(timeoutMs, () => done(false))
    socket.once('connect', () => done(true))
    socket.once('error', () => done(false))
  })
}

export async function requireMariadb(): Promise<void> {
  if (!(await canConnect(MARIADB.host, MARIADB.port)))
    throw new Error(
      `MariaDB is not answering on ${MARIADB.host}:${MARIADB.port}. Start it: start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd`,
    )
}

export async function requireRabbitmq(): Promise<void> {
  if (!(await canConnect(RABBITMQ.amqpHost, RABBITMQ.amqpPort)))
    throw new Error(`RabbitMQ is not answering on ${RABBITMQ.amqpHost}:${RABBITMQ.amqpPort}. Start it: rabbitmq-server -detached`)
  const ok = await fetch(`${RABBITMQ.managementUrl}/api/overview`, {
    headers: { authorization: 'Basic ' + Buffer.from(`${RABBITMQ.username}:${RABBITMQ.password}`).toString('base64') },
    signal: AbortSignal.timeout(5000),
  }).then(
    (r) => r.ok,
    () => false,
  )
  if (!ok)
    throw new Error(
      `RabbitMQ's management API is not answering at ${RABBITMQ.managementUrl}. Enable it once: rabbitmq-plugins enable rabbitmq_management`,
    )
}
