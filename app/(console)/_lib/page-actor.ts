import { headers } from 'next/headers'
import { connection } from 'next/server'
import { notFound, redirect } from 'next/navigation'
import { cache } from 'react'
import type { UserActor } from '@/lib/auth/actor'
import { getAuth } from '@/lib/auth/better-auth'
import { resolveActor } from '@/lib/auth/resolve-actor'
import { getConfig } from '@/lib/config'
import { getDb, type Db } from '@/lib/db/client'
import { DomainError } from '@/lib/errors'
import { REQUEST_PATH_HEADER } from '@/proxy'

/** The signed-in user of this request, or null. Cached per request, so the layout and the page share it. */
export const currentActor = cache(async (): Promise<UserActor | null> => {
  // Reading the request headers first marks the page as dynamic before anything touches the database.
  const requestHeaders = await headers()
  return resolveActor({ db: getDb(), auth: getAuth(), headers: requestHeaders })
})

/** What a console page needs: the database, the signed-in user (else a redirect to sign in), the hosting zone. */
export async function pageContext(): Promise<{ db: Db; actor: UserActor; hostingZone: string }> {
  const actor = await currentActor()
  if (!actor) {
    const path = (await headers()).get(REQUEST_PATH_HEADER)
    redirect(path ? `/sign-in?next=${encodeURIComponent(path)}` : '/sign-in')
  }
  return { db: getDb(), actor, hostingZone: getConfig().hostingZone }
}

/** Runs a lib/ read; "not found" (which is also what another organization's data looks like) becomes the 404 page. */
export async function orNotFound<T>(read: Promise<T>): Promise<T> {
  try {
    return await read
  } catch (err) {
    if (err instanceof DomainError && err.code === 'not_found') notFound()
    throw err
  }
}

/** The database, for pages that read it before (or without) the signed-in user: never at build time. */
export async function requestDb(): Promise<Db> {
  await connection()
  return getDb()
}

/** Whether the actor owns at least one organization (owners may read their organizations' audit log). */
export function ownsAnyOrganization(actor: UserActor): boolean {
  return actor.memberships.some((m) => m.role === 'owner')
}

/** A single string from a search param (the first one when repeated); empty counts as absent. */
export function param(value: string | string[] | undefined): string | undefined {
  const v = Array.isArray(value) ? value[0] : value
  return v && v.trim() ? v.trim() : undefined
}

export type SearchParams = Promise<Record<string, string | string[] | undefined>>
