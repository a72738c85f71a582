import { stringify } from 'yaml'

export interface CloudInitInput {
  appserverId: string
  hostname: string
  sshUser: string
  /** authorized_keys line of the key Ansible connects with. */
  publicKey: string
}

/**
 * The `#cloud-config` user data of an appserver VM: only what Ansible needs to reach it (the SSH user with
 * its key and passwordless sudo, Python for Ansible's modules). Instance configuration and secrets never go
 * here: user data is readable from inside the VM by any process through the metadata service, and is stored
 * by the cloud provider; they travel over SSH with Ansible instead.
 */
export function renderCloudInit(input: CloudInitInput): string {
  const document = {
    hostname: input.hostname,
    preserve_hostname: false,
    ssh_pwauth: false,
    disable_root: true,
    users: [
      {
        name: input.sshUser,
        groups: ['sudo'],
        shell: '/bin/bash',
        sudo: 'ALL=(ALL) NOPASSWD:ALL',
        lock_passwd: true,
        ssh_authorized_keys: [input.publicKey],
      },
    ],
    package_update: true,
    packages: ['python3', 'python3-apt'],
    write_files: [{ path: '/etc/tenon/appserver-id', permissions: '0644', content: `${input.appserverId}\n` }],
  }
  // No line folding: keys stay on one line for whoever reads the user data.
  return `#cloud-config\n${stringify(document, { lineWidth: 0 })}`
}
