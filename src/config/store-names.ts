/** The store profiles of the distributed mode (`--store`). */
export const STORE_NAMES = ['postgres', 'dynamodb', 'cassandra'] as const;
export type StoreName = (typeof STORE_NAMES)[number];
