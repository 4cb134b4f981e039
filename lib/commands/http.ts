/** HTTP probes run inside a container (curl), as argv. */

/** GET a URL until it answers 2xx (self-signed TLS accepted: the probe runs next to nginx). */
export const curlHealth = (url: string) => ["curl", "-fsSk", "--retry", "10", "--retry-delay", "2", "--retry-all-errors", url];

/** One GET, no retries, body on stdout: what a URL answers right now. */
export const curlOnce = (url: string) => ["curl", "-fsSk", "--max-time", "10", url];
