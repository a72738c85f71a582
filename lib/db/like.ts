/**
 * Prisma's contains/startsWith/endsWith become LIKE patterns without escaping, so "%" or "_" typed into a
 * search box would match everything. Escape them (and the escape character) to search for the text as typed.
 */
export function likeLiteral(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`)
}
