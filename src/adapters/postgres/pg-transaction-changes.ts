import type { Change } from '../../domain/change.ts';
import { parseLsn } from './pg-lsn.ts';

/** The subset of a pgoutput relation (table) description this reads. */
interface Relation {
  readonly schema: string;
  readonly name: string;
}

type Tuple = Readonly<Record<string, unknown>>;

/** The subset of pg-logical-replication's decoded pgoutput messages this reads. */
export type PgoutputMessage =
  | { readonly tag: 'begin'; readonly commitLsn: string | null }
  | { readonly tag: 'commit'; readonly commitLsn: string | null }
  | { readonly tag: 'insert'; readonly relation: Relation; readonly new: Tuple }
  | { readonly tag: 'delete'; readonly relation: Relation; readonly key: Tuple | null; readonly old: Tuple | null }
  | { readonly tag: 'relation' | 'type' | 'origin' | 'update' | 'truncate' | 'message' };

/** A transaction's changes, handed over once its commit message arrived. */
export interface CommittedTransaction {
  /** LSN of the commit record: unique per transaction and growing in commit order. */
  readonly commitLsn: bigint;
  readonly changes: Change[];
}

/**
 * Turns a pgoutput message stream into the committed transactions' changes: an insert into
 * `likes` is +1, a delete from it -1, an insert into `recounts` a recount. Everything else
 * (other tables, deletes of recounts, updates, truncates) is ignored.
 */
export class PgTransactionChanges {
  readonly #schema: string;
  #open: { commitLsn: bigint; changes: Change[] } | undefined;

  constructor(schema: string) {
    this.#schema = schema;
  }

  /** True between a transaction's begin and commit messages. */
  get inTransaction(): boolean {
    return this.#open !== undefined;
  }

  /** Feeds one message; returns the transaction it completes, if it is a commit. */
  push(message: PgoutputMessage): CommittedTransaction | undefined {
    switch (message.tag) {
      case 'begin':
        this.#open = { commitLsn: parseLsn(required(message.commitLsn, 'begin')), changes: [] };
        return undefined;
      case 'commit': {
        const open = this.#transaction('commit');
        this.#open = undefined;
        return open;
      }
      case 'insert': {
        if (message.relation.schema !== this.#schema) return undefined;
        if (message.relation.name === 'likes') {
          this.#transaction('insert').changes.push({ kind: 'delta', postId: text(message.new, 'post_id'), userId: text(message.new, 'user_id'), delta: 1 });
        } else if (message.relation.name === 'recounts') {
          this.#transaction('insert').changes.push({ kind: 'recount', postId: text(message.new, 'post_id'), count: Number(text(message.new, 'count')) });
        }
        return undefined;
      }
      case 'delete': {
        if (message.relation.schema !== this.#schema || message.relation.name !== 'likes') return undefined;
        const key = message.key ?? message.old;
        if (key === null) throw new Error('pgoutput: a delete from likes carried no key; the table needs its primary key as replica identity');
        this.#transaction('delete').changes.push({ kind: 'delta', postId: text(key, 'post_id'), userId: text(key, 'user_id'), delta: -1 });
        return undefined;
      }
      default:
        return undefined;
    }
  }

  /** Forgets a transaction cut off by a lost connection; the slot sends it again in full. */
  reset(): void {
    this.#open = undefined;
  }

  #transaction(what: string): { commitLsn: bigint; changes: Change[] } {
    if (this.#open === undefined) throw new Error(`pgoutput: ${what} message outside a transaction`);
    return this.#open;
  }
}

function required(lsn: string | null, what: string): string {
  if (lsn === null) throw new Error(`pgoutput: ${what} message without a commit LSN`);
  return lsn;
}

function text(tuple: Tuple, column: string): string {
  const value = tuple[column];
  if (typeof value === 'string') return value;
  if (typeof value === 'number' || typeof value === 'bigint') return String(value);
  throw new Error(`pgoutput: column ${column} is missing from the decoded row`);
}
