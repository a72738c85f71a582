import { describe, expect, it } from 'vitest'
import type { AppserverState } from '@/lib/db/generated/enums'
import {
  decideConfiguring,
  decideDraining,
  decideDriverError,
  decideProvisioning,
  decideStarting,
  retryDelay,
  type Timing,
} from '@/lib/appservers/decide-step'

const NOW = new Date('2026-11-25T12:00:00.000Z')
const at = (msFromNow: number) => new Date(NOW.getTime() + msFromNow)

/** Deadline far ahead, 5 s between checks. */
const early: Timing = { now: NOW, deadline: at(60_000), retryMs: 5_000 }
/** Deadline 2 s ahead: the next look is at the deadline, not after it. */
const close: Timing = { now: NOW, deadline: at(2_000), retryMs: 5_000 }
/** Deadline reached exactly now (counts as overdue). */
const due: Timing = { now: NOW, deadline: NOW, retryMs: 5_000 }
const late: Timing = { now: NOW, deadline: at(-1), retryMs: 5_000 }
const never: Timing = { now: NOW, deadline: null, retryMs: 5_000 }

describe('decideProvisioning', () => {
  it('a running VM with an address moves on to configuring and records the address', () => {
    expect(decideProvisioning({ phase: 'running', address: 'http://10.0.0.5:80' }, early)).toEqual({
      kind: 'transition',
      to: 'configuring',
      message: 'VM running',
      address: 'http://10.0.0.5:80',
    })
    // even past the deadline: it made it
    expect(decideProvisioning({ phase: 'running', address: 'http://10.0.0.5:80' }, late)).toMatchObject({ to: 'configuring' })
  })

  it('a running VM without an address yet is looked at again, until the deadline', () => {
    expect(decideProvisioning({ phase: 'running' }, early)).toEqual({ kind: 'wait', ms: 5_000, note: 'running, waiting for an address' })
    expect(decideProvisioning({ phase: 'running' }, late)).toEqual({
      kind: 'transition',
      to: 'failed',
      message: 'provisioning did not finish before its deadline: running, waiting for an address',
      error: 'provisioning timed out: running, waiting for an address',
    })
  })

  it('a pending VM waits with its detail (or "booting"), never past the deadline', () => {
    expect(decideProvisioning({ phase: 'pending', detail: 'BUILD' }, early)).toEqual({ kind: 'wait', ms: 5_000, note: 'BUILD' })
    expect(decideProvisioning({ phase: 'pending' }, early)).toEqual({ kind: 'wait', ms: 5_000, note: 'booting' })
    expect(decideProvisioning({ phase: 'pending' }, close)).toEqual({ kind: 'wait', ms: 2_000, note: 'booting' })
    expect(decideProvisioning({ phase: 'pending' }, never)).toEqual({ kind: 'wait', ms: 5_000, note: 'booting' })
  })

  it('a pending VM at or past the deadline fails the appserver', () => {
    for (const t of [due, late]) {
      expect(decideProvisioning({ phase: 'pending', detail: 'BUILD' }, t)).toEqual({
        kind: 'transition',
        to: 'failed',
        message: 'provisioning did not finish before its deadline: BUILD',
        error: 'provisioning timed out: BUILD',
      })
    }
  })

  it('waits at least 1 ms, even when the deadline is a moment away', () => {
    expect(decideProvisioning({ phase: 'pending' }, { now: NOW, deadline: at(1), retryMs: 5_000 })).toEqual({
      kind: 'wait',
      ms: 1,
      note: 'booting',
    })
    expect(decideProvisioning({ phase: 'pending' }, { now: NOW, deadline: null, retryMs: 0 })).toMatchObject({ kind: 'wait', ms: 1 })
  })

  it('a failed VM fails the appserver at once, with its detail', () => {
    expect(decideProvisioning({ phase: 'failed', detail: 'quota exceeded' }, early)).toEqual({
      kind: 'transition',
      to: 'failed',
      message: 'VM failed: quota exceeded',
      error: 'quota exceeded',
    })
    expect(decideProvisioning({ phase: 'failed' }, early)).toEqual({
      kind: 'transition',
      to: 'failed',
      message: 'VM failed: no detail',
      error: 'the VM failed',
    })
  })

  it('a VM that vanished fails the appserver', () => {
    expect(decideProvisioning({ phase: 'gone' }, early)).toEqual({
      kind: 'transition',
      to: 'failed',
      message: 'VM vanished while provisioning',
      error: 'the VM vanished while provisioning',
    })
  })
})

describe('decideConfiguring', () => {
  it('done moves on to starting', () => {
    expect(decideConfiguring({ state: 'done' }, late)).toEqual({
      kind: 'transition',
      to: 'starting',
      message: 'configured; waiting for the health check',
    })
  })

  it('running waits, until the deadline', () => {
    expect(decideConfiguring({ state: 'running' }, early)).toEqual({ kind: 'wait', ms: 5_000, note: 'configuration running' })
    expect(decideConfiguring({ state: 'running' }, close)).toEqual({ kind: 'wait', ms: 2_000, note: 'configuration running' })
    expect(decideConfiguring({ state: 'running' }, due)).toEqual({
      kind: 'transition',
      to: 'failed',
      message: 'configuring did not finish before its deadline: configuration running',
      error: 'configuring timed out: configuration running',
    })
  })

  it('failed fails the appserver with the error', () => {
    expect(decideConfiguring({ state: 'failed', error: 'task "migrate" failed' }, early)).toEqual({
      kind: 'transition',
      to: 'failed',
      message: 'configuration failed: task "migrate" failed',
      error: 'task "migrate" failed',
    })
  })
})

describe('decideStarting', () => {
  it('a passing health check makes it healthy', () => {
    expect(decideStarting({ ok: true, status: 200, detail: 'HTTP 200' }, late)).toEqual({
      kind: 'transition',
      to: 'healthy',
      message: 'health check passed (HTTP 200)',
    })
  })

  it('a failing one is checked again until the deadline, then fails the appserver', () => {
    const failing = { ok: false, status: 503, detail: 'HTTP 503: starting' }
    expect(decideStarting(failing, early)).toEqual({ kind: 'wait', ms: 5_000, note: 'health check failed: HTTP 503: starting' })
    expect(decideStarting(failing, late)).toEqual({
      kind: 'transition',
      to: 'failed',
      message: 'starting did not finish before its deadline: health check failed: HTTP 503: starting',
      error: 'starting timed out: health check failed: HTTP 503: starting',
    })
  })
})

describe('decideDraining', () => {
  it('waits until the drain period ends, then the appserver is inactive (kept for rollback)', () => {
    expect(decideDraining(at(3_000), NOW)).toEqual({ kind: 'wait', ms: 3_000, note: 'draining' })
    const done = { kind: 'transition', to: 'inactive', message: 'drained; kept for rollback' }
    expect(decideDraining(NOW, NOW)).toEqual(done)
    expect(decideDraining(at(-10), NOW)).toEqual(done)
    // no drain time recorded: nothing to wait for
    expect(decideDraining(null, NOW)).toEqual(done)
  })
})

describe('decideDriverError', () => {
  const timeout = { message: 'nomad register job: timed out after 30000 ms', retryable: true }
  const refused = { message: 'ovh create instance: HTTP 400: invalid flavor', retryable: false }

  it.each(['new', 'provisioning', 'configuring', 'starting'] as const)('%s: a retryable error is retried before the deadline', (phase) => {
    expect(decideDriverError(timeout, phase, early)).toEqual({ kind: 'wait', ms: 5_000, note: `will retry: ${timeout.message}` })
    expect(decideDriverError(timeout, phase, close)).toMatchObject({ kind: 'wait', ms: 2_000 })
    // phases without a deadline (new) retry for ever
    expect(decideDriverError(timeout, phase, never)).toMatchObject({ kind: 'wait', ms: 5_000 })
  })

  it.each(['new', 'provisioning', 'configuring', 'starting'] as const)(
    '%s: a retryable error past the deadline fails the appserver',
    (phase) => {
      expect(decideDriverError(timeout, phase, late)).toEqual({
        kind: 'transition',
        to: 'failed',
        message: `${phase} did not finish before its deadline: will retry: ${timeout.message}`,
        error: `${phase} timed out: will retry: ${timeout.message}`,
      })
    },
  )

  it.each(['new', 'provisioning', 'configuring', 'starting'] as const)('%s: an error that is not retryable fails at once', (phase) => {
    for (const t of [early, never, late]) {
      expect(decideDriverError(refused, phase, t)).toEqual({
        kind: 'transition',
        to: 'failed',
        message: `${phase} failed: ${refused.message}`,
        error: refused.message,
      })
    }
  })

  it('a failing destroy is always retried: a terminating appserver never fails, whatever the error', () => {
    const phase: AppserverState = 'terminating'
    for (const err of [timeout, refused]) {
      for (const t of [early, late, never]) {
        expect(decideDriverError(err, phase, t)).toEqual({ kind: 'wait', ms: 5_000, note: `destroy failed, will retry: ${err.message}` })
      }
    }
  })
})

describe('retryDelay', () => {
  it('doubles from the base up to the cap', () => {
    expect([0, 1, 2, 3, 4].map((n) => retryDelay(1_000, n))).toEqual([1_000, 2_000, 4_000, 8_000, 16_000])
    expect(retryDelay(1_000, 10)).toBe(5 * 60_000)
    expect(retryDelay(1_000, 3, 5_000)).toBe(5_000)
  })

  it('does not overflow for huge attempt counts', () => {
    expect(retryDelay(1, 1_000_000)).toBe(2 ** 16)
    expect(retryDelay(10_000, 1_000_000)).toBe(5 * 60_000)
  })
})
