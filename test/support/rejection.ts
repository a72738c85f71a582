import { ProvisionerError } from '@/provisioners/types'

/** What a promise rejected with, checked to be an instance of `type` (a ProvisionerError unless told). */
export async function rejectionOf<T extends Error>(promise: Promise<unknown>, type: abstract new (...args: never[]) => T): Promise<T> {
  const err = await promise.then(
    () => undefined,
    (e: unknown) => e,
  )
  if (!(err instanceof type)) throw new Error(`expected a ${type.name}, got ${String(err)}`)
  return err
}

/** The ProvisionerError a provisioner's or driver's call rejected with. */
export const rejection = (promise: Promise<unknown>): Promise<ProvisionerError> => rejectionOf(promise, ProvisionerError)
