/** A remote key set could not be fetched: tokens it would verify are answered 503, not 401 (src/auth/refusal.ts). */
export class KeySetUnavailable extends Error {}
