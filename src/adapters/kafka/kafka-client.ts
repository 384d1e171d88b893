import { Admin, Consumer, ConnectionPool, findErrorBy, ProduceAcks, Producer } from '@platformatic/kafka';
import { TallyError } from '../../domain/errors.ts';
import type { Logger } from '../../observability/logger.ts';

/**
 * The one place where Kafka clients are built: every adapter of this folder gets its clients
 * here, so timeouts, retries and the broker list are set alike.
 */

/** How to reach the cluster. */
export interface KafkaConnection {
  /** Bootstrap brokers, comma separated `host:port` (e.g. `127.0.0.1:9092,127.0.0.1:9093`). */
  readonly brokers: string;
  /** Shown in the broker's logs and metrics; default `tally`. */
  readonly clientId?: string;
  /**
   * This process's static member id in every consumer group it joins (`group.instance.id`,
   * `--kafka-instance-id`); absent: dynamic membership. A member restarted with the same id gets
   * its partitions back at once; a dynamic one waits until the broker drops the dead member.
   */
  readonly instanceId?: string;
  readonly log?: Logger;
}

/** Group membership timings; the broker bounds `sessionTimeoutMs` to [6 s, 30 min] by default. */
export interface GroupTimings {
  /** A member silent for this long is removed and its partitions handed to the others. */
  readonly sessionTimeoutMs: number;
  readonly heartbeatIntervalMs: number;
  /** How long a rebalance waits for the members to rejoin. */
  readonly rebalanceTimeoutMs: number;
}

/** Production timings: a dead member's partitions move after 10 s; heartbeats every second. */
export const DEFAULT_GROUP_TIMINGS: GroupTimings = { sessionTimeoutMs: 10_000, heartbeatIntervalMs: 1_000, rebalanceTimeoutMs: 20_000 };

/** Per-request and reconnection settings shared by every client. */
const CLIENT_DEFAULTS = {
  connectTimeout: 5_000,
  timeout: 10_000,
  retryDelay: 250,
} as const;

/**
 * Retries of a producer request: with `retryDelay` this bounds how long an append waits for an
 * unreachable broker (about 5 s plus request timeouts) before failing as `backend_unavailable`.
 */
const PRODUCER_RETRIES = 20;
const CONSUMER_RETRIES = 5;

/** Parses `host:port[,host:port...]`; throws `invalid_option` naming the bad value. */
export function bootstrapBrokers(brokers: string): string[] {
  const list = brokers.split(',').map((b) => b.trim()).filter((b) => b.length > 0);
  if (list.length === 0 || list.some((b) => !/^[^\s:]+:\d{1,5}$/.test(b))) {
    throw new TallyError('invalid_option', `Kafka brokers "${brokers}" are not a comma separated list of host:port`);
  }
  return list;
}

function clientId(connection: KafkaConnection, role: string): string {
  return `${connection.clientId ?? 'tally'}-${role}`;
}

/** An admin client (topics, offsets of groups). */
export function createAdmin(connection: KafkaConnection): Admin {
  return watchErrors(new Admin({
    ...CLIENT_DEFAULTS,
    clientId: clientId(connection, 'admin'),
    bootstrapBrokers: bootstrapBrokers(connection.brokers),
    retries: CONSUMER_RETRIES,
  }), connection.log);
}

/** An idempotent producer waiting for every in-sync replica (acks=all); keys and values are Buffers. */
export function createProducer(connection: KafkaConnection, role: string): Producer {
  return watchErrors(new Producer({
    ...CLIENT_DEFAULTS,
    clientId: clientId(connection, role),
    bootstrapBrokers: bootstrapBrokers(connection.brokers),
    idempotent: true,
    acks: ProduceAcks.ALL,
    retries: PRODUCER_RETRIES,
  }), connection.log);
}

/** An idempotent producer with its producer id already registered, so the first send does not pay for it. */
export async function startIdempotentProducer(connection: KafkaConnection, role: string): Promise<Producer> {
  const producer = createProducer(connection, role);
  try {
    await producer.initIdempotentProducer({});
  } catch (error) {
    await producer.close().catch(() => undefined);
    throw unavailable('starting the idempotent producer', error);
  }
  return producer;
}

/** A consumer-group member with autocommit off: offsets are committed by the adapter only. */
export function createGroupConsumer(connection: KafkaConnection, role: string, group: string, timings: GroupTimings): Consumer {
  return watchErrors(new Consumer({
    ...CLIENT_DEFAULTS,
    clientId: clientId(connection, role),
    bootstrapBrokers: bootstrapBrokers(connection.brokers),
    groupId: group,
    ...(connection.instanceId === undefined || connection.instanceId === '' ? {} : { groupInstanceId: connection.instanceId }),
    autocommit: false,
    retries: CONSUMER_RETRIES,
    sessionTimeout: timings.sessionTimeoutMs,
    heartbeatInterval: timings.heartbeatIntervalMs,
    rebalanceTimeout: timings.rebalanceTimeoutMs,
  }), connection.log);
}

/**
 * A consumer that never joins a group: for reading offsets and records at known positions.
 * (The client wants a group id anyway; this one is never used.)
 */
export function createStandaloneConsumer(connection: KafkaConnection, role: string): Consumer {
  return watchErrors(new Consumer({
    ...CLIENT_DEFAULTS,
    clientId: clientId(connection, role),
    bootstrapBrokers: bootstrapBrokers(connection.brokers),
    groupId: clientId(connection, `${role}-unused-group`),
    autocommit: false,
    retries: CONSUMER_RETRIES,
  }), connection.log);
}

/**
 * A connection pool of its own for fetches: a fetch waits on the broker for data, and on the
 * group's connection it would hold back heartbeats and commits queued behind it.
 */
export function createFetchPool(connection: KafkaConnection, role: string): ConnectionPool {
  return new ConnectionPool(clientId(connection, role), { connectTimeout: CLIENT_DEFAULTS.connectTimeout });
}

/** An unhandled `error` event would crash the process; the failing call reports it instead. */
function watchErrors<T extends { on(event: 'error', listener: (error: Error) => void): unknown }>(client: T, log: Logger | undefined): T {
  client.on('error', (error) => log?.warn({ err: error }, 'kafka client error'));
  return client;
}

/** Whether a Kafka error carries the protocol error `apiId` (e.g. `TOPIC_ALREADY_EXISTS`). */
export function hasKafkaError(error: unknown, apiId: string): boolean {
  return error instanceof Error && findErrorBy(error, 'apiId', apiId) !== null;
}

/** True for the errors of a member whose generation moved on: a rebalance is under way or done. */
export function isRebalanceError(error: unknown): boolean {
  return error instanceof Error && findErrorBy(error, 'needsRejoin', true) !== null;
}

const RUN_AS = 'Start it with `./tally services up kafka`, or point --kafka-brokers (TALLY_KAFKA_BROKERS) at a running cluster.';

/**
 * Wraps a client failure as a retriable `backend_unavailable`, keeping the cause. The client nests
 * its reasons (`Listing topics failed.` ← `metadata failed 4 times.` ← `Connection to … failed.`
 * ← `connect ECONNREFUSED …`); the message names the innermost one, and says what to do when no
 * broker could be reached at all.
 */
export function unavailable(what: string, cause: unknown): TallyError {
  if (cause instanceof TallyError) return cause;
  const detail = cause instanceof Error ? cause.message : String(cause);
  const root = innermostReason(cause);
  const reason = root === undefined || root === detail ? detail : `${detail.replace(/\.$/, '')} (${root})`;
  const unreachable = root !== undefined && /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|ECONNRESET|timed? ?out|Cannot connect to any broker/i.test(root);
  return new TallyError('backend_unavailable', `Kafka: ${what} failed: ${reason}${unreachable ? `. ${RUN_AS}` : ''}`, { cause, retriable: true });
}

/** The message at the bottom of a client error's `errors` and `cause` chain (the first branch of each). */
function innermostReason(error: unknown): string | undefined {
  let at: unknown = error;
  for (let depth = 0; depth < 10; depth++) {
    if (!(at instanceof Error)) break;
    const nested: unknown = (at as { errors?: unknown[] }).errors?.[0] ?? at.cause;
    if (!(nested instanceof Error)) return at.message;
    at = nested;
  }
  return at instanceof Error ? at.message : undefined;
}
