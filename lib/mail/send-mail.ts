import nodemailer from 'nodemailer'
import type { Config } from '@/lib/config'
import { getLogger } from '@/lib/log'

export interface Mail {
  to: string
  subject: string
  text: string
}

/**
 * Sends an email through SMTP_URL. Without SMTP the message is written to the log instead, so the
 * no-configuration setup still hands out invitation links (to whoever reads the server log).
 */
export async function sendMail(config: Pick<Config, 'smtpUrl' | 'mailFrom'>, mail: Mail): Promise<'sent' | 'logged'> {
  if (!config.smtpUrl) {
    getLogger().info({ mail: { to: mail.to, subject: mail.subject } }, `email not sent (SMTP_URL unset):\n${mail.text}`)
    return 'logged'
  }
  const transport = nodemailer.createTransport(config.smtpUrl)
  try {
    await transport.sendMail({ from: config.mailFrom, to: mail.to, subject: mail.subject, text: mail.text })
    return 'sent'
  } finally {
    transport.close()
  }
}
