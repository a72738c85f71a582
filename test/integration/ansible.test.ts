import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { ansiblePlaybook } from '../support/ansible'

let scratch: string
let inventory: string

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'ansible-test-'))
  // The shape of the inventory the OVH driver writes: one host in the group the playbooks target.
  inventory = path.join(scratch, 'inventory.yml')
  await writeFile(
    inventory,
    'all:\n  children:\n    appservers:\n      hosts:\n        appserver.test:\n          ansible_host: 192.0.2.10\n',
  )
})

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true })
})

describe('ansible/', () => {
  it.each(['ansible/appserver.yml', 'test/fakes/ovh/local-playbook.yml'])('%s passes ansible-playbook --syntax-check', async (playbook) => {
    const { stdout, stderr } = await ansiblePlaybook(['--syntax-check', '-i', inventory, playbook])
    expect(stdout).toContain(`playbook: ${playbook}`)
    expect(stderr).not.toMatch(/ERROR!|WARNING/)
  })

  it('lists the tasks of both roles in order', async () => {
    const { stdout } = await ansiblePlaybook(['--list-tasks', '-i', inventory, 'ansible/appserver.yml'])
    const tasks = stdout.split('\n').filter((l) => /^\s+(common|openedx) : /.test(l))
    expect(tasks.findIndex((l) => l.includes('common : '))).toBeLessThan(tasks.findIndex((l) => l.includes('openedx : ')))
    expect(stdout).toContain("openedx : Write Tutor's config.yml")
    expect(stdout).toContain('openedx : Wait for the health check')
  })
})
