import pg from 'pg'
import type { Actor } from '@/lib/auth/actor'
import { canReadOrganization, isStaff } from '@/lib/auth/policy'
import { getLogger } from '@/lib/log'
import { EVENTS_CHANNEL, type TenonEvent } from './types'

/** Whether `actor` may receive `event`: events without an organization are for staff only. */
export function mayReceive(actor: Actor, event: TenonEvent): boolean {
  return event.organizationId === null ? isStaff(actor) : canReadOrganization(actor, event.organizationId)
}

type Listener = (event: TenonEvent) => void

/**
 * One LISTEN connection per process fans PostgreSQL notifications out to the open event streams.
 * The connection is opened with the first subscriber and re-opened with backoff if it drops; events
 * sent while it was down are not replayed (streams tell their pages to refresh on reconnect instead).
 */
export class EventHub {
  private listeners = new Set<Listener>()
  private client: pg.Client | null = null
  private connecting: Promise<void> | null = null
  private retryMs = 500

  constructor(private readonly databaseUrl: string) {}

  async subscribe(listener: Listener): Promise<() => void> {
    this.listeners.add(listener)
    await this.connect()
    return () => {
      this.listeners.delete(listener)
    }
  }

  private connect(): Promise<void> {
    if (this.client) return Promise.resolve()
    this.connecting ??= (async () => {
      const client = new pg.Client({ connectionString: this.databaseUrl })
      client.on('notification', (msg) => {
        if (msg.channel !== EVENTS_CHANNEL || !msg.payload) return
        const event = JSON.parse(msg.payload) as TenonEvent
        for (const l of this.listeners) l(event)
      })
      client.on('error', (err) => {
        getLogger().warn({ err }, 'event stream connection lost; reconnecting')
        this.client = null
        void client.end().catch((e: unknown) => getLogger().debug({ err: e }, 'closing the lost event connection failed'))
        setTimeout(
          () => void this.connect().catch((e: unknown) => getLogger().warn({ err: e }, 'event stream reconnect failed')),
          this.retryMs,
        )
        this.retryMs = Math.min(this.retryMs * 2, 30_000)
      })
      await client.connect()
      await client.query(`LISTEN ${EVENTS_CHANNEL}`)
      this.client = client
      this.retryMs = 500
    })().finally(() => {
      this.connecting = null
    })
    return this.connecting
  }

  async close(): Promise<void> {
    this.listeners.clear()
    await this.client?.end()
    this.client = null
  }
}

const g = globalThis as unknown as { tenonEventHub?: EventHub }

export function getEventHub(databaseUrl: string): EventHub {
  g.tenonEventHub ??= new EventHub(databaseUrl)
  return g.tenonEventHub
}
