import { execFile } from 'node:child_process'
import path from 'node:path'
import { promisify } from 'node:util'

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..')
const run = promisify(execFile)

const isMissingBinary = (error: unknown): boolean =>
  typeof error === 'object' && error !== null && 'code' in error && error.code === 'ENOENT'

/** Runs a program, failing with how to install it when it is missing (never a skip). */
export async function runProgram(program: string, args: string[], install: string): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run(program, args, { cwd: REPO_ROOT })
  } catch (error) {
    if (isMissingBinary(error)) throw new Error(`${program} not found: ${install}`)
    throw error
  }
}

/** `ansible-playbook` from the repository root with its ansible.cfg. */
export async function ansiblePlaybook(args: string[]): Promise<{ stdout: string; stderr: string }> {
  try {
    return await run('ansible-playbook', args, {
      cwd: REPO_ROOT,
      env: { ...process.env, ANSIBLE_CONFIG: path.join(REPO_ROOT, 'ansible/ansible.cfg'), ANSIBLE_NOCOLOR: '1' },
    })
  } catch (error) {
    if (isMissingBinary(error))
      throw new Error('ansible-playbook not found: install ansible-core (.ci/run does: apt-get install ansible-core)')
    throw error
  }
}
