import { beforeAll, describe, expect, it } from 'vitest'
import * as instances from '@/app/api/v1/instances/route'
import { createTestOrganization, createTestUser, type TestUser } from '../support/fixtures'
import { callRoute } from '../support/call-route'

describe('instances API (smoke)', () => {
  let staff: TestUser
  let orgId: string
  beforeAll(async () => {
    staff = await createTestUser({ staff: true })
    orgId = (await createTestOrganization()).id
  })

  it('creates and lists an instance', async () => {
    const created = await callRoute(instances.POST, {
      token: staff.token,
      body: { organizationId: orgId, name: 'Smoke Test', settings: { contactEmail: 'a@b.test' } },
    })
    expect(created.status).toBe(201)
    expect(created.body.hostname).toMatch(/^smoke-test(-\d+)?\.hosting\.test$/)
    const list = await callRoute(instances.GET, { token: staff.token, query: { organizationId: orgId } })
    expect(list.status).toBe(200)
    expect(list.body.items.map((i: { id: string }) => i.id)).toContain(created.body.id)
  })
})
