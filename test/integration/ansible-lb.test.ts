import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { ansiblePlaybook, runProgram } from '../support/ansible'

const root = path.resolve(import.meta.dirname, '../..')
const role = path.join(root, 'ansible/roles/lb')
let scratch: string
let inventory: string

beforeAll(async () => {
  scratch = await mkdtemp(path.join(tmpdir(), 'ansible-lb-test-'))
  // One host in the group the playbook targets.
  inventory = path.join(scratch, 'inventory.yml')
  await writeFile(
    inventory,
    'all:\n  children:\n    load_balancers:\n      hosts:\n        lb1.test:\n          ansible_host: 192.0.2.20\n',
  )
})

afterAll(async () => {
  if (scratch) await rm(scratch, { recursive: true, force: true })
})

describe('ansible/lb.yml', () => {
  it('passes ansible-playbook --syntax-check', async () => {
    const { stdout, stderr } = await ansiblePlaybook(['--syntax-check', '-i', inventory, 'ansible/lb.yml'])
    expect(stdout).toContain('playbook: ansible/lb.yml')
    expect(stderr).not.toMatch(/ERROR!|WARNING/)
  })

  it('runs the common role, then sets up HAProxy, Node.js and the agent in that order', async () => {
    const { stdout } = await ansiblePlaybook(['--list-tasks', '-i', inventory, 'ansible/lb.yml'])
    const tasks = stdout
      .split('\n')
      .map((l) => /^\s+((?:common|lb) : .+?)\s+TAGS:/.exec(l)?.[1])
      .filter((t) => t !== undefined)
    const at = (name: string) => {
      const index = tasks.indexOf(name)
      expect(index, name).toBeGreaterThanOrEqual(0)
      return index
    }
    expect(at('common : Write the firewall rules')).toBeLessThan(at('lb : Install HAProxy'))
    const order = [
      "lb : Check the load balancer's variables",
      'lb : Install HAProxy',
      "lb : Write HAProxy's first configuration",
      "lb : Run HAProxy in master-worker mode from the agent's directory",
      "lb : Apply HAProxy's new command line before the agent starts",
      'lb : Check that Node.js is recent enough',
      'lb : Unpack the release',
      "lb : Install the agent's dependencies",
      'lb : Point the current release at it',
      "lb : Write the agent's environment file",
      "lb : Install the agent's systemd unit",
      'lb : Start the agent at boot',
    ]
    const indexes = order.map(at)
    expect(indexes).toEqual([...indexes].sort((a, b) => a - b))
  })

  it('keeps the Consul token out of the log and the environment file private', async () => {
    const tasks: unknown = parse(await readFile(path.join(role, 'tasks/main.yml'), 'utf8'))
    expect(Array.isArray(tasks)).toBe(true)
    const flat = (list: unknown): Record<string, unknown>[] =>
      Array.isArray(list) ? list.flatMap((t: Record<string, unknown>) => [t, ...flat(t.block), ...flat(t.rescue), ...flat(t.always)]) : []
    const all = flat(tasks)
    const handling = all.filter((t) => /lb_consul_http_token|lb-agent\.env/.test(JSON.stringify(t)))
    expect(handling.map((t) => t.name)).toEqual(['Check that the Consul token fits on one line', "Write the agent's environment file"])
    for (const task of handling) expect(task.no_log, String(task.name)).toBe(true)
    const envFile = all.find((t) => t.name === "Write the agent's environment file")
    expect(envFile?.['ansible.builtin.template']).toMatchObject({ dest: '/etc/tenon/lb-agent.env', mode: '0600', owner: 'root' })
    // Nothing else may read the token: the templates that do not write the environment file never mention it.
    for (const template of ['haproxy.cfg.j2', 'haproxy-tenon.conf.j2', 'tenon-lb-agent.service.j2']) {
      expect(await readFile(path.join(role, 'templates', template), 'utf8')).not.toContain('token')
    }
  })

  it('renders a valid HAProxy configuration, the drop-in, the environment file and the unit from the defaults', async () => {
    // Renders the role's templates with its defaults into the scratch directory, on the controller only (lookups):
    // nothing is installed or changed on this machine.
    const out = path.join(scratch, 'rendered')
    const templates = ['haproxy.cfg.j2', 'haproxy-tenon.conf.j2', 'lb-agent.env.j2', 'tenon-lb-agent.service.j2']
    const renderPlaybook = path.join(scratch, 'render.yml')
    const overrides = path.join(scratch, 'overrides.json')
    await writeFile(
      overrides,
      JSON.stringify({
        lb_consul_http_addr: 'https://consul.test:8501',
        // Characters an EnvironmentFile would otherwise mangle.
        lb_consul_http_token: 'to"k$en\\`x',
        lb_agent_extra_env: { LOG_LEVEL: 'debug' },
      }),
    )
    await writeFile(
      renderPlaybook,
      JSON.stringify([
        {
          name: 'Render the lb role templates',
          hosts: 'load_balancers',
          connection: 'local',
          gather_facts: false,
          become: false,
          // The role's defaults, then the test's values (later files win; play vars would lose to vars_files).
          vars_files: [path.join(role, 'defaults/main.yml'), overrides],
          tasks: [
            { name: 'Make the output directory', 'ansible.builtin.file': { path: out, state: 'directory', mode: '0700' } },
            ...templates.map((t) => ({
              name: `Render ${t}`,
              'ansible.builtin.copy': {
                dest: path.join(out, t.replace(/\.j2$/, '')),
                content: `{{ lookup('ansible.builtin.template', '${path.join(role, 'templates', t)}') }}`,
                mode: '0600',
              },
            })),
          ],
        },
      ]),
    )
    const localInventory = path.join(scratch, 'local.yml')
    await writeFile(
      localInventory,
      `all:\n  children:\n    load_balancers:\n      hosts:\n        lb1.test:\n          ansible_python_interpreter: /usr/bin/python3\n`,
    )
    await ansiblePlaybook(['-i', localInventory, renderPlaybook])

    const cfg = path.join(out, 'haproxy.cfg')
    await runProgram('/usr/sbin/haproxy', ['-c', '-q', '-f', cfg], 'install it: apt-get install haproxy')
    const config = await readFile(cfg, 'utf8')
    expect(config).toContain('stats socket /run/haproxy/admin.sock mode 660 level admin expose-fd listeners')
    expect(config).toMatch(/^\s+bind :80$/m)

    const dropIn = await readFile(path.join(out, 'haproxy-tenon.conf'), 'utf8')
    expect(dropIn).toMatch(/^ExecStart=$/m)
    expect(dropIn).toContain(
      'ExecStart=/usr/sbin/haproxy -Ws -S /run/haproxy-master.sock,mode,660,group,haproxy -f /etc/haproxy/tenon/haproxy.cfg',
    )
    expect(dropIn).toMatch(/^ExecReload=$/m)
    expect(dropIn).toMatch(/^LimitNOFILE=1048576$/m)

    const env = (await readFile(path.join(out, 'lb-agent.env'), 'utf8')).split('\n').filter((l) => l && !l.startsWith('#'))
    expect(env).toEqual([
      'CONSUL_HTTP_ADDR="https://consul.test:8501"',
      'CONSUL_HTTP_TOKEN="to\\"k\\$en\\\\\\`x"',
      'CONSUL_PREFIX="tenon"',
      'LB_NODE_NAME="lb1.test"',
      'HAPROXY_CONFIG_DIR="/etc/haproxy/tenon"',
      'HAPROXY_MASTER_SOCKET="/run/haproxy-master.sock"',
      'HAPROXY_STATS_SOCKET="/run/haproxy/admin.sock"',
      'LB_HTTP_PORT="80"',
      'LB_HTTPS_PORT="443"',
      'HAPROXY_USER="haproxy"',
      'HAPROXY_GROUP="haproxy"',
      'HAPROXY_SOCKET_GROUP="haproxy"',
      'HAPROXY_SYSLOG="/dev/log"',
      'LOG_LEVEL="debug"',
    ])

    const unit = await readFile(path.join(out, 'tenon-lb-agent.service'), 'utf8')
    for (const line of [
      'After=network-online.target haproxy.service',
      'User=tenon-lb',
      'SupplementaryGroups=haproxy',
      'WorkingDirectory=/opt/tenon-lb/current',
      'EnvironmentFile=/etc/tenon/lb-agent.env',
      'ExecStart=/usr/bin/node --import tsx lb-agent/main.ts',
      'Restart=always',
      'ReadWritePaths=/etc/haproxy/tenon',
    ]) {
      expect(unit.split('\n')).toContain(line)
    }
  })
})
