/**
 * Signs in through better-auth's email endpoint. Returns null on success or a message to show:
 * the API's own wording for bad credentials, and a clear one for the sign-in rate limit.
 */
export async function signInWithPassword(email: string, password: string): Promise<string | null> {
  let response: Response
  try {
    response = await fetch('/api/auth/sign-in/email', {
      method: 'POST',
      credentials: 'same-origin',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email, password }),
    })
  } catch {
    return 'Could not reach the server. Check your connection.'
  }
  if (response.ok) return null
  if (response.status === 429) return 'Too many attempts, wait a minute'
  if (response.status === 401 || response.status === 400) return 'Wrong email or password'
  return 'Signing in failed. Try again in a moment.'
}
