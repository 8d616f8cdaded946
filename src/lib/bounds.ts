/** PostgreSQL `integer`: stock counts and deltas stay inside it. */
export const PG_INT_MAX = 2_147_483_647;
/** PostgreSQL `bigint` (ids of movements and events). */
export const PG_BIGINT_MAX = 9_223_372_036_854_775_807n;
