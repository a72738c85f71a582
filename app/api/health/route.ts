// Liveness: the process answers. No dependency is checked (that is /api/ready).
export function GET(): Response {
  return Response.json({ status: 'ok' }, { headers: { 'cache-control': 'no-store' } })
}
