import { defineRoute } from '@/app/api/_lib/route'
import { requireDatabaseUrl } from '@/lib/config'
import { getEventHub, mayReceive } from '@/lib/events/hub'

const HEARTBEAT_MS = 25_000

/**
 * Server-sent events: one `change` event per audited change the subscriber is allowed to see. Pages
 * re-read what they show when one arrives. Filtering happens here, per subscriber, never in the browser.
 */
export const GET = defineRoute(
  {
    method: 'GET',
    path: '/api/v1/events',
    summary: 'Live change events (text/event-stream), filtered to what you may see',
    tag: 'Events',
    auth: 'user',
  },
  async ({ actor, request, ctx }) => {
    const hub = getEventHub(requireDatabaseUrl(ctx.config))
    const encoder = new TextEncoder()
    let cleanup = () => {}
    const stream = new ReadableStream<Uint8Array>({
      async start(controller) {
        const send = (chunk: string) => {
          try {
            controller.enqueue(encoder.encode(chunk))
          } catch {
            cleanup() // the stream is closed: stop sending to it
          }
        }
        const unsubscribe = await hub.subscribe((event) => {
          if (mayReceive(actor, event)) send(`id: ${event.id}\nevent: change\ndata: ${JSON.stringify(event)}\n\n`)
        })
        const heartbeat = setInterval(() => send(': heartbeat\n\n'), HEARTBEAT_MS)
        cleanup = () => {
          clearInterval(heartbeat)
          unsubscribe()
        }
        const end = () => {
          cleanup()
          try {
            controller.close()
          } catch {
            // already closed by the client going away
          }
        }
        // The client may have gone while we subscribed: then no abort event is coming.
        if (request.signal.aborted) return end()
        request.signal.addEventListener('abort', end)
        send('retry: 3000\nevent: ready\ndata: {}\n\n')
      },
      cancel() {
        cleanup()
      },
    })
    return new Response(stream, {
      headers: { 'content-type': 'text/event-stream; charset=utf-8', connection: 'keep-alive', 'x-accel-buffering': 'no' },
    })
  },
)
