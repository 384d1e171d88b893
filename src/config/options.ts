import { TallyError } from '../domain/errors.ts';
import { bool, int, nonEmpty, oneOf, url, widen, type FlagKind, type OptionSpec } from './option-parsers.ts';
import { SECURITY_OPTION_SPECS } from './security-options.ts';
import { STORE_NAMES, type StoreName } from './store-names.ts';

export type { FlagKind, OptionSpec } from './option-parsers.ts';

type StreamWriter = 'process' | 'main';
type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'silent';
const DEFAULT_LOG_LEVEL = widen<LogLevel>('info');

/** Every option of every command, with its default. `./tally --help` prints this table. */
export const OPTION_SPECS = {
  port: { flag: 'port', env: 'TALLY_PORT', default: 8080, doc: 'HTTP port of the api', parse: int(0, 65535) },
  host: { flag: 'host', env: 'TALLY_HOST', default: '127.0.0.1', doc: 'address the api binds to', parse: nonEmpty },
  dataDir: { flag: 'data', env: 'TALLY_DATA', default: './data', doc: 'folder of the embedded database', parse: nonEmpty },
  partitions: { flag: 'partitions', env: 'TALLY_PARTITIONS', default: 4, doc: 'partitions of the like-events log (by post id); can only grow', parse: int(1, 1024) },
  likesShards: { flag: 'likes-shards', env: 'TALLY_LIKES_SHARDS', default: 16, doc: 'shards per post in the likes store key (hash of user id)', parse: int(1, 1024) },
  ingestBatch: { flag: 'ingest-batch', env: 'TALLY_INGEST_BATCH', default: 100000, doc: 'most events ingest applies in one transaction (a batch only grows past what arrived while the last one was applied when ingest is behind; larger ones spread each index page they rewrite over more likes)', parse: int(1, 1_000_000) },
  eraseBatch: { flag: 'erase-batch', env: 'TALLY_ERASE_BATCH', default: 1000, doc: 'most likes rows an erasure scans and deletes in one store transaction', parse: int(1, 100_000) },
  counterBatch: { flag: 'counter-batch', env: 'TALLY_COUNTER_BATCH', default: 50000, doc: 'most changes the counter applies in one transaction', parse: int(1, 1_000_000) },
  batchWaitMs: { flag: 'batch-wait-ms', env: 'TALLY_BATCH_WAIT_MS', default: 0, doc: 'how long a stage waits for a part-full batch to fill; 0 takes what has arrived (a backlog fills batches by itself; a wait only delays the likes in hand)', parse: int(0, 10_000) },
  idleMs: { flag: 'idle-ms', env: 'TALLY_IDLE_MS', default: 200, doc: 'how long an idle stage sleeps before polling again (embedded stages are also woken at once)', parse: int(1, 60_000) },
  maxPendingEvents: { flag: 'max-pending-events', env: 'TALLY_MAX_PENDING_EVENTS', default: 200_000, doc: 'events waiting for a log commit beyond which writes get 503', parse: int(1, 100_000_000) },
  maxIngestLag: { flag: 'max-ingest-lag', env: 'TALLY_MAX_INGEST_LAG', default: 2_000_000, doc: 'events in the log not yet ingested beyond which writes get 429', parse: int(1, 1_000_000_000) },
  waitAppliedMs: { flag: 'wait-applied-ms', env: 'TALLY_WAIT_APPLIED_MS', default: 5000, doc: 'how long ?wait=applied waits before 504', parse: int(1, 120_000) },
  cacheEntries: { flag: 'cache-entries', env: 'TALLY_CACHE_ENTRIES', default: 1_000_000, doc: 'counts kept in the in-process cache', parse: int(1, 100_000_000) },
  maxBulkEvents: { flag: 'max-bulk-events', env: 'TALLY_MAX_BULK_EVENTS', default: 10_000, doc: 'most events in one POST /v1/events', parse: int(1, 1_000_000) },
  maxReadPosts: { flag: 'max-read-posts', env: 'TALLY_MAX_READ_POSTS', default: 500, doc: 'most posts in one GET /v1/counts', parse: int(1, 100_000) },
  bodyLimitBytes: { flag: 'body-limit', env: 'TALLY_BODY_LIMIT', default: 4 * 1024 * 1024, doc: 'largest request body in bytes', parse: int(1024, 1024 * 1024 * 1024) },
  reconcileIntervalMs: { flag: 'reconcile-interval-ms', env: 'TALLY_RECONCILE_INTERVAL_MS', default: 3_600_000, doc: 'full reconcile every this many ms; 0 disables', parse: int(0, 7 * 24 * 3_600_000) },
  logLevel: { flag: 'log-level', env: 'TALLY_LOG_LEVEL', default: DEFAULT_LOG_LEVEL, doc: 'log level', parse: oneOf<LogLevel>('fatal', 'error', 'warn', 'info', 'debug', 'silent') },
  pipelineThread: { flag: 'pipeline-thread', env: 'TALLY_PIPELINE_THREAD', default: true, doc: 'embedded: run ingest, counter and reconcile in a worker thread (a second core); false runs them on the api thread', parse: bool },
  distributed: { flag: 'distributed', env: 'TALLY_DISTRIBUTED', default: false, doc: 'serve: run the stages on Kafka, PostgreSQL and Redis instead of the embedded database', parse: bool },
  store: { flag: 'store', env: 'TALLY_STORE', default: widen<StoreName>('postgres'), doc: 'distributed: the store profile holding the likes and the counters and capturing the changes', parse: oneOf<StoreName>(...STORE_NAMES) },
  namespace: { flag: 'namespace', env: 'TALLY_NAMESPACE', default: 'tally', doc: 'prefix of Kafka topics, the PostgreSQL schema, the Cassandra keyspace and Redis keys', parse: (raw: string) => (/^[a-z][a-z0-9_]{0,30}$/.test(raw) ? raw : { allowed: 'lowercase letters, digits and _, starting with a letter, at most 31 characters' }) },
  kafkaBrokers: { flag: 'kafka-brokers', env: 'TALLY_KAFKA_BROKERS', default: '127.0.0.1:9092', doc: 'Kafka bootstrap brokers, comma separated host:port', parse: (raw: string) => (/^[^,\s:]+:\d+(,[^,\s:]+:\d+)*$/.test(raw) ? raw : { allowed: 'host:port[,host:port...]' }) },
  kafkaSessionTimeoutMs: { flag: 'kafka-session-timeout-ms', env: 'TALLY_KAFKA_SESSION_TIMEOUT_MS', default: 10_000, doc: 'a consumer-group member silent this long loses its partitions to the others (broker allows 6000 and up)', parse: int(1000, 1_800_000) },
  kafkaInstanceId: { flag: 'kafka-instance-id', env: 'TALLY_KAFKA_INSTANCE_ID', default: '', doc: 'distributed: this process\'s static member id in the ingest and counter consumer groups (Kafka group.instance.id), one per process and kept across restarts (e.g. the pod name): a process restarted within --kafka-session-timeout-ms takes its partitions back at once, without a rebalance; empty: dynamic membership', parse: (raw: string) => (raw === '' || /^[A-Za-z0-9._-]{1,249}$/.test(raw) ? raw : { allowed: 'empty, or 1 to 249 characters of A-Z a-z 0-9 . _ -' }) },
  streamIntervalMs: { flag: 'stream-interval-ms', env: 'TALLY_STREAM_INTERVAL_MS', default: 100, doc: 'live streams: at most one event per post in this many ms', parse: int(1, 60_000) },
  maxStreams: { flag: 'max-streams', env: 'TALLY_MAX_STREAMS', default: 10_000, doc: 'live streams one api process serves at once; beyond, 503 too_many_streams', parse: int(0, 1_000_000) },
  streamHeartbeatMs: { flag: 'stream-heartbeat-ms', env: 'TALLY_STREAM_HEARTBEAT_MS', default: 15_000, doc: 'live streams: a heartbeat comment this often', parse: int(100, 600_000) },
  streamWriter: { flag: 'stream-writer', env: 'TALLY_STREAM_WRITER', default: widen<StreamWriter>('process'), doc: 'live streams: who writes to their sockets once a stream is open; process: a child process started with the first stream, which takes ~3/4 of the streams\' cost off the api thread for ~60-85 MB more memory; main: the api thread (no second process)', parse: oneOf<StreamWriter>('process', 'main') },
  streamBufferBytes: { flag: 'stream-buffer-bytes', env: 'TALLY_STREAM_BUFFER_BYTES', default: 256 * 1024, doc: 'live streams: a client leaving more unread bytes is dropped', parse: int(1024, 64 * 1024 * 1024) },
  postgresUrl: { flag: 'postgres-url', env: 'TALLY_POSTGRES_URL', default: 'postgres://tally:tally@127.0.0.1:5432/tally', doc: 'PostgreSQL connection URL', parse: url(['postgres:', 'postgresql:']) },
  dynamodbEndpoint: { flag: 'dynamodb-endpoint', env: 'TALLY_DYNAMODB_ENDPOINT', default: 'http://127.0.0.1:8000', doc: '--store dynamodb: DynamoDB endpoint; empty means AWS (region and credentials from the standard AWS variables and chain)', parse: (raw: string) => (raw === '' ? raw : url(['http:', 'https:'])(raw)) },
  dynamodbCreateTables: { flag: 'dynamodb-create-tables', env: 'TALLY_DYNAMODB_CREATE_TABLES', default: true, doc: '--store dynamodb: create the namespace\'s tables at start-up when absent (on-demand billing, streams on), and add the indexes an older table lacks', parse: bool },
  cassandraContactPoints: { flag: 'cassandra-contact-points', env: 'TALLY_CASSANDRA_CONTACT_POINTS', default: '127.0.0.1:9042', doc: '--store cassandra: contact points, comma separated host:port', parse: (raw: string) => (/^[^,\s:]+:\d+(,[^,\s:]+:\d+)*$/.test(raw) ? raw : { allowed: 'host:port[,host:port...]' }) },
  cassandraLocalDc: { flag: 'cassandra-local-dc', env: 'TALLY_CASSANDRA_LOCAL_DC', default: 'datacenter1', doc: '--store cassandra: the local datacenter (reads and writes at LOCAL_QUORUM there)', parse: nonEmpty },
  cassandraReplication: { flag: 'cassandra-replication', env: 'TALLY_CASSANDRA_REPLICATION', default: "{'class': 'SimpleStrategy', 'replication_factor': 1}", doc: '--store cassandra: replication of the namespace\'s keyspace, a CQL map (production: NetworkTopologyStrategy, 3 per datacenter)', parse: (raw: string) => (/^\{[^;]*\}$/.test(raw.trim()) ? raw.trim() : { allowed: "a CQL replication map such as {'class': 'NetworkTopologyStrategy', 'datacenter1': 3}" }) },
  hotShards: { flag: 'hot-shards', env: 'TALLY_HOT_SHARDS', default: 4, doc: 'distributed: sub-shards of a post in the like-events log key (postId#k, k = hash(userId) mod S); 1 keys by post alone; change only with the log drained', parse: int(1, 1024) },
  kafkaRecordEvents: { flag: 'kafka-record-events', env: 'TALLY_KAFKA_RECORD_EVENTS', default: 500, doc: 'distributed: most events (like-events) or changes (like-changes) in one Kafka record; a record then holds a JSON array of them and no key (a Kafka client\'s cost is per record); 1 writes one per record, keyed', parse: int(1, 10_000) },
  nearCacheMs: { flag: 'near-cache-ms', env: 'TALLY_NEAR_CACHE_MS', default: 50, doc: 'distributed api: how long a count read from Redis may be served from process memory (concurrent misses coalesce); 0 disables', parse: int(0, 60_000) },
  metricsPort: { flag: 'metrics-port', env: 'TALLY_METRICS_PORT', default: -1, doc: 'a process without the api (ingest, counter, cdc) serves GET /metrics on this port; 0 picks a free one, -1 none', parse: int(-1, 65535) },
  redisUrl: { flag: 'redis-url', env: 'TALLY_REDIS_URL', default: 'redis://127.0.0.1:6379', doc: 'Redis connection URL', parse: url(['redis:', 'rediss:']) },
  ...SECURITY_OPTION_SPECS,
} satisfies Record<string, OptionSpec<unknown>>;

type Specs = typeof OPTION_SPECS;
/** The validated configuration of a Tally process. */
export type Options = { -readonly [K in keyof Specs]: Specs[K]['default'] };

export type OptionName = keyof Specs;

/**
 * Reads options from flags (`--name value` or `--name=value`), then the environment, then the
 * defaults. Any bad value stops start-up with a TallyError naming the option, the value and what
 * is allowed.
 */
export function loadOptions(flags: ReadonlyMap<string, string>, env: NodeJS.ProcessEnv): Options {
  const options: Record<string, unknown> = {};
  for (const [name, spec] of Object.entries(OPTION_SPECS) as [OptionName, OptionSpec<unknown>][]) {
    const fromFlag = flags.get(spec.flag);
    const fromEnv = env[spec.env];
    const raw = fromFlag ?? fromEnv;
    if (raw === undefined) {
      options[name] = spec.default;
      continue;
    }
    const parsed = spec.parse(raw);
    if (isRefusal(parsed)) {
      const source = fromFlag !== undefined ? `--${spec.flag}` : spec.env;
      throw new TallyError('invalid_option', `invalid ${source}: "${raw}" is not allowed; expected ${parsed.allowed} (default: ${shownDefault(spec.default)})`);
    }
    options[name] = parsed;
  }
  return options as Options;
}

/** A default as --help and errors show it: an empty one as `none`. */
function shownDefault(value: unknown): string {
  return value === '' ? 'none' : String(value);
}

function isRefusal(value: unknown): value is { readonly allowed: string } {
  return typeof value === 'object' && value !== null && 'allowed' in value;
}

/** Every option's flag and how it takes its value, for the command-line parser. */
export function optionFlags(): Record<string, FlagKind> {
  return Object.fromEntries(Object.values(OPTION_SPECS).map((s) => [s.flag, typeof s.default === 'boolean' ? 'boolean' : 'string']));
}

export function optionsHelp(): string {
  return Object.values(OPTION_SPECS)
    .map((s) => `  --${s.flag.padEnd(24)} ${s.env.padEnd(30)} ${s.doc} (default: ${shownDefault(s.default)})`)
    .join('\n');
}
