/**
 * How far a time is from `now`, to the unit that matters: "just now", "in 40 s", "12 min ago", "in 3 h", "89 d ago".
 * Pure, so server components pass the time they read the data at and every cell of a page agrees.
 */
export function relativeTime(iso: string | Date, now: number): string {
  const at = typeof iso === 'string' ? Date.parse(iso) : iso.getTime()
  const seconds = Math.round((at - now) / 1000)
  const size = Math.abs(seconds)
  if (size < 1) return 'just now'
  const amount =
    size < 60
      ? `${size} s`
      : size < 3600
        ? `${Math.floor(size / 60)} min`
        : size < 2 * 86_400
          ? `${Math.floor(size / 3600)} h`
          : `${Math.floor(size / 86_400)} d`
  return seconds > 0 ? `in ${amount}` : `${amount} ago`
}
