/** The messages between the runner's main thread (the script) and the HTTP worker thread. */

export interface WireRequest {
  method: string;
  url: string;
  /** Header name → value, as the script set them (k6 sends them as given). */
  headers: Array<[string, string]>;
  body: Uint8Array | null;
  /** Redirects to follow (k6: the `redirects` param, else `options.maxRedirects`, else 10). */
  maxRedirects: number;
  timeoutMs: number;
  /** Whether to read the body (false for responseType 'none' / discardResponseBodies). */
  readBody: boolean;
}

export interface WireTimings {
  sending: number;
  waiting: number;
  receiving: number;
  duration: number;
}

export interface WireHop {
  method: string;
  url: string;
  status: number;
  statusText: string;
  /** Header name (lower case, as fetch gives them) → value; repeated headers joined with ', ' (set-cookie kept apart). */
  headers: Array<[string, string]>;
  requestHeaders: Array<[string, string]>;
  requestBody: Uint8Array | null;
  body: Uint8Array | null;
  timings: WireTimings;
  /** Bytes put on and taken off the wire, roughly (headers + body). */
  sentBytes: number;
  receivedBytes: number;
  error?: string;
  errorCode?: number;
}

export interface WireResponse {
  /** Every request made, the redirects first (k6 samples each). The last one is the response. */
  hops: WireHop[];
}
