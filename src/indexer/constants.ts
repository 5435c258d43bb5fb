/**
 * Constants of the v2 contracts that the indexer needs and the events do not carry. A test holds each equal to the
 * deployed contract's (test/src/indexer/consent.test.ts).
 */

/** `ConsentPolicy.REQUEST_LIFETIME`: a request expires this long after the block that made it (seconds). */
export const REQUEST_LIFETIME_SECONDS = 30 * 24 * 60 * 60;

/** `ConsentPolicy.EMERGENCY_COOLDOWN`: after a controller closes a responder's access (seconds). */
export const EMERGENCY_COOLDOWN_SECONDS = 24 * 60 * 60;
