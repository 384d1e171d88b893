import type { SourceProgress } from '../../ports/source-progress.ts';
import { PgPoolLifecycle } from './pg-client.ts';
import { parseLsn } from './pg-lsn.ts';
import { pgNames } from './pg-schema.ts';

export interface PgProgressProbeOptions {
  readonly url: string;
  readonly namespace: string;
}

/** Where the database's WAL stands, and up to where the cdc relay has confirmed the replication slot. */
export class PgProgressProbe implements SourceProgress {
  readonly #options: PgProgressProbeOptions;
  readonly #pool: PgPoolLifecycle;

  constructor(options: PgProgressProbeOptions) {
    this.#options = options;
    this.#pool = new PgPoolLifecycle({ url: options.url, max: 2, applicationName: `tally-progress-${options.namespace}` }, 'PostgreSQL progress probe');
  }

  async init(): Promise<void> {
    this.#pool.open();
  }

  close(): Promise<void> {
    return this.#pool.close();
  }

  /** The current WAL position, as 16 hex digits (comparable with `relayConfirmed`). */
  async sourceMark(): Promise<string> {
    const { rows } = await this.#query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn', []);
    return hex(rows[0]?.lsn);
  }

  /** The replication slot's confirmed position: every change before it was published by the relay. */
  async relayConfirmed(): Promise<string> {
    const { rows } = await this.#query<{ lsn: string | null }>('SELECT confirmed_flush_lsn::text AS lsn FROM pg_replication_slots WHERE slot_name = $1', [
      pgNames(this.#options.namespace).slot,
    ]);
    return hex(rows[0]?.lsn ?? undefined);
  }

  #query<R>(text: string, values: readonly unknown[]): Promise<{ rows: R[] }> {
    return this.#pool.pool.query<R>(text, values);
  }
}

function hex(lsn: string | undefined): string {
  return (lsn === undefined ? 0n : parseLsn(lsn)).toString(16).padStart(16, '0');
}
