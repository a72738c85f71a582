// The official `ovh` client (v2) ships no type declarations: these describe the part of it the driver uses
// (see node_modules/ovh/lib/ovh.es6.js).
declare module 'ovh' {
  interface OvhClientParams {
    appKey: string
    appSecret: string
    consumerKey?: string
    /** A preconfigured API name ("ovh-eu", "ovh-ca", "ovh-us", ...); sets `host`. */
    endpoint?: string
    host?: string
    port?: number
    basePath?: string
    /** Socket idle timeout in ms; on expiry the request is aborted. */
    timeout?: number
    apiTimeDiff?: number
  }

  interface OvhClient {
    /**
     * Signs and sends one call. Resolves with the parsed JSON body of a 200 answer (null when empty). Rejects
     * with `{ error, message }`: `error` is the HTTP status for an API error, otherwise a network error code,
     * an Error, or a string; `message` is the API's `message` field when there is one.
     */
    requestPromised(method: string, path: string, params?: Record<string, unknown>): Promise<unknown>
  }

  function ovh(params: OvhClientParams): OvhClient
  export = ovh
}
