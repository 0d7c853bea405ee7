/** Milliseconds in a UTC day: retention, deprecation and history windows count whole days. */
export const DAY_MS = 86_400_000;
