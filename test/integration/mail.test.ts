import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { SMTPServer } from 'smtp-server'
import * as invitations from '@/app/api/v1/organizations/[id]/invitations/route'
import { sendMail } from '@/lib/mail/send-mail'
import { callRoute } from '../support/call-route'
import { createTestOrganization, createTestUser } from '../support/fixtures'

/** A real SMTP server on loopback that keeps what it receives. */
function startSmtp(): Promise<{ port: number; messages: { to: string[]; data: string }[]; close(): Promise<void> }> {
  const messages: { to: string[]; data: string }[] = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS'],
    onData(stream, session, callback) {
      let data = ''
      stream.on('data', (chunk: Buffer) => (data += chunk.toString()))
      stream.on('end', () => {
        messages.push({ to: session.envelope.rcptTo.map((r) => r.address), data })
        callback()
      })
    },
  })
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.server.address() as { port: number }
      resolve({ port, messages, close: () => new Promise<void>((r) => server.close(() => r())) })
    })
  })
}

describe('email', () => {
  let smtp: Awaited<ReturnType<typeof startSmtp>>
  beforeAll(async () => {
    smtp = await startSmtp()
  })
  afterAll(() => smtp.close())

  it('sends through SMTP_URL when configured', async () => {
    const result = await sendMail(
      { smtpUrl: `smtp://127.0.0.1:${smtp.port}`, mailFrom: 'Tenon <tenon@example.test>' },
      { to: 'someone@example.test', subject: 'Hello', text: 'Body text' },
    )
    expect(result).toBe('sent')
    const mail = smtp.messages.find((m) => m.to.includes('someone@example.test'))
    expect(mail?.data).toContain('Subject: Hello')
    expect(mail?.data).toContain('Body text')
  })

  it('logs instead of sending when SMTP_URL is unset', async () => {
    expect(await sendMail({ smtpUrl: undefined, mailFrom: 'x@example.test' }, { to: 'a@example.test', subject: 's', text: 't' })).toBe(
      'logged',
    )
  })

  it('an invitation without SMTP is logged, and its link is returned once', async () => {
    const staff = await createTestUser({ staff: true })
    const org = await createTestOrganization()
    const res = await callRoute(invitations.POST, {
      token: staff.token,
      params: { id: org.id },
      body: { email: 'Invitee@Example.test', role: 'owner' },
    })
    expect(res.status).toBe(201)
    expect(res.body.delivery).toBe('logged')
    expect(res.body.link).toMatch(/^http:\/\/console\.test\/invite\/[A-Za-z0-9_-]{43}$/)
    expect(res.body.invitation).toMatchObject({ email: 'invitee@example.test', role: 'owner', status: 'pending' })
    const list = await callRoute(invitations.GET, { token: staff.token, params: { id: org.id } })
    expect(JSON.stringify(list.body)).not.toContain(res.body.link.split('/').pop())
  })
})
