/** Durations used across the scripts, named once. */
export const SECOND_MS = 1000;
export const MINUTE_MS = 60 * SECOND_MS;
export const HOUR_MS = 60 * MINUTE_MS;
export const DAY_MS = 24 * HOUR_MS;
/** Upper bound for a command that moves a whole data set (a dump, a volume tar, a decryption). */
export const DATA_COMMAND_TIMEOUT_MS = 6 * HOUR_MS;
/** How long a service may take to become ready again after the scripts started it. */
export const SERVICE_READY_TIMEOUT_MS = 5 * MINUTE_MS;
