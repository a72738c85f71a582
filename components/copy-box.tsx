'use client'

import { Check, Copy } from 'lucide-react'
import { useState } from 'react'
import { Button } from './ui/button'

/** A value shown once (a token, an invitation link) with a button that copies it. */
export function CopyBox({ value, label, testId }: { value: string; label: string; testId?: string }) {
  const [copied, setCopied] = useState(false)
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(value)
      setCopied(true)
      setTimeout(() => setCopied(false), 2000)
    } catch {
      // Clipboard access can be refused (insecure origin, permissions): the value stays selectable.
      setCopied(false)
    }
  }
  return (
    <div className="flex items-stretch gap-2">
      <input
        readOnly
        aria-label={label}
        value={value}
        data-testid={testId}
        onFocus={(e) => e.currentTarget.select()}
        className="h-9 min-w-0 flex-1 rounded-md border border-neutral-300 bg-neutral-50 px-2.5 font-mono text-xs text-neutral-900 focus-visible:outline-2 focus-visible:outline-blue-600"
      />
      <Button variant="secondary" onClick={copy} aria-label={`Copy ${label.toLowerCase()}`}>
        {copied ? <Check aria-hidden /> : <Copy aria-hidden />}
        {copied ? 'Copied' : 'Copy'}
      </Button>
    </div>
  )
}
