import cassandra from 'cassandra-driver';
import { TallyError } from '../../domain/errors.ts';

/** Where the Cassandra cluster is and how the namespace's keyspace is replicated. */
export interface CassandraConnection {
  /** Contact points, `host:port[,host:port...]` (`--cassandra-contact-points`). */
  readonly contactPoints: string;
  /** The local datacenter: requests go there at LOCAL_QUORUM (`--cassandra-local-dc`). */
  readonly localDataCenter: string;
  /** The keyspace: the namespace. */
  readonly keyspace: string;
}

/** One row of a result: values by column name (bigint columns come back as `bigint`). */
export interface CqlRow {
  get(column: string): unknown;
}

/** The subset of the driver's ResultSet that Tally reads. */
export interface CqlResult {
  readonly rows: CqlRow[];
  /** Where the next page starts, when the result was paged and more rows remain. */
  readonly pageState?: string | null;
  /** For a conditional statement (lightweight transaction): whether its condition held. */
  wasApplied(): boolean;
}

export interface CqlStatement {
  readonly query: string;
  readonly params: readonly unknown[];
}

/** The subset of `cassandra-driver`'s Client that the adapters use: stages never see the driver. */
export interface CqlSession {
  execute(query: string, params?: readonly unknown[], options?: { readonly fetchSize?: number; readonly pageState?: string }): Promise<CqlResult>;
  /** A batch; `logged` false for an unlogged one. Conditional batches must stay in one partition. */
  batch(statements: readonly CqlStatement[], options?: { readonly logged?: boolean }): Promise<CqlResult>;
  shutdown(): Promise<void>;
}

const RUN_AS = 'Start it with `./tally services up cassandra`, or point --cassandra-contact-points (TALLY_CASSANDRA_CONTACT_POINTS) at a running cluster.';

/**
 * Opens a session to the cluster (no keyspace: statements name their tables in full). Requests
 * are prepared, run at LOCAL_QUORUM, and lightweight transactions at LOCAL_SERIAL. A cluster that
 * cannot be reached stops start-up with a message naming the option and the contact points.
 */
export async function connectCassandra(connection: CassandraConnection, applicationName: string): Promise<CqlSession> {
  const contactPoints = connection.contactPoints.split(',').map((p) => p.trim());
  const client = new cassandra.Client({
    contactPoints,
    localDataCenter: connection.localDataCenter,
    applicationName,
    encoding: { useBigIntAsLong: true },
    socketOptions: { connectTimeout: 5000, readTimeout: 12_000 },
    queryOptions: {
      prepare: true,
      consistency: cassandra.types.consistencies.localQuorum,
      serialConsistency: cassandra.types.consistencies.localSerial,
    },
  });
  try {
    await client.connect();
  } catch (error) {
    await client.shutdown().catch(() => undefined);
    throw new TallyError(
      'backend_unavailable',
      `cannot reach Cassandra at --cassandra-contact-points ${connection.contactPoints} (local datacenter ${connection.localDataCenter}): ${errorText(error)}. ${RUN_AS}`,
      { cause: error, retriable: true },
    );
  }
  return wrap(client);
}

function wrap(client: cassandra.Client): CqlSession {
  return {
    async execute(query, params = [], options = {}) {
      try {
        return await client.execute(query, [...params], { prepare: true, ...options });
      } catch (error) {
        throw asTallyError(error, query);
      }
    },
    async batch(statements, options = {}) {
      try {
        return await client.batch(
          statements.map((s) => ({ query: s.query, params: [...s.params] })),
          { prepare: true, logged: options.logged ?? true },
        );
      } catch (error) {
        throw asTallyError(error, statements[0]?.query ?? 'batch');
      }
    },
    shutdown: () => client.shutdown(),
  };
}

/** Driver errors become retriable `backend_unavailable` errors (the stages retry them). */
function asTallyError(error: unknown, query: string): TallyError {
  if (error instanceof TallyError) return error;
  const statement = query.replace(/\s+/g, ' ').slice(0, 80);
  return new TallyError('backend_unavailable', `Cassandra: ${errorText(error)} (running: ${statement})`, { cause: error, retriable: true });
}

function errorText(error: unknown): string {
  if (error instanceof cassandra.errors.NoHostAvailableError) {
    const inner = Object.entries((error.innerErrors ?? {}) as Record<string, unknown>)
      .map(([host, e]) => `${host}: ${e instanceof Error ? e.message : String(e)}`)
      .join('; ');
    return `no host available${inner === '' ? '' : ` (${inner})`}`;
  }
  return error instanceof Error ? error.message : String(error);
}

/**
 * Added to the write timestamps Tally derives from positions (log offsets, count versions): they
 * then order Tally's own writes among themselves and stay above any write stamped with the wall
 * clock in microseconds (~1.8e15 today; 2^52 is ~4.5e15), so a stray hand-made write can never
 * freeze a row against Tally's later ones.
 */
export const POSITION_TIMESTAMP_BASE = 1n << 52n;

/** A bigint (or absent) column as a number; Tally's offsets and counts stay far below 2^53. */
export function num(value: unknown, fallback = 0): number {
  if (value === null || value === undefined) return fallback;
  return Number(value);
}

/** A column that may be null, as a string. */
export function str(value: unknown): string | undefined {
  if (value === null || value === undefined) return undefined;
  return typeof value === 'string' ? value : JSON.stringify(value);
}

/** Runs `fn` over the items with at most `limit` in flight; results keep the items' order. */
export async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++;
      results[i] = await fn(items[i] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
