import { NextResponse, type NextRequest } from 'next/server'

/** Header carrying the path of a console page request, so a sign-in redirect can bring the user back. */
export const REQUEST_PATH_HEADER = 'x-tenon-path'

export function proxy(request: NextRequest) {
  const headers = new Headers(request.headers)
  headers.set(REQUEST_PATH_HEADER, request.nextUrl.pathname + request.nextUrl.search)
  return NextResponse.next({ request: { headers } })
}

export const config = {
  // Console pages only: the API, static files and Next.js internals need nothing from here.
  matcher: ['/((?!api/|_next/|favicon.ico).*)'],
}
