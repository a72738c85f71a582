export interface HealthResult {
  ok: boolean
  /** HTTP status, when one came back */
  status?: number
  /** why it failed: status and a short body excerpt, or the network error */
  detail: string
}

/**
 * One HTTP health check: GET address+path with a timeout. 2xx is healthy. Never throws: a failure is a
 * result the lifecycle decides on (retry until the deadline).
 */
export async function checkHealth(address: string, path: string, timeoutMs: number): Promise<HealthResult> {
  const url = address.replace(/\/+$/, '') + path
  try {
    const res = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
      headers: { 'user-agent': 'tenon-health-check' },
    })
    const body = (await res.text()).slice(0, 300).replace(/\s+/g, ' ').trim()
    return res.status >= 200 && res.status < 300
      ? { ok: true, status: res.status, detail: `HTTP ${res.status}` }
      : { ok: false, status: res.status, detail: `HTTP ${res.status}${body ? `: ${body}` : ''}` }
  } catch (err) {
    const reason =
      err instanceof Error ? (err.name === 'TimeoutError' ? `no answer within ${timeoutMs} ms` : causeMessage(err)) : String(err)
    return { ok: false, detail: `${url}: ${reason}` }
  }
}

function causeMessage(err: Error): string {
  const cause = err.cause
  return cause instanceof Error ? cause.message : err.message
}
