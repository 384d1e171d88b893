/** A long-running part of the pipeline; `/readyz` is 200 only when every stage is running. */
export interface Stage {
  readonly name: string;
  start(): Promise<void>;
  /** Finishes the batch in hand, then returns; nothing half-applied is left behind. */
  stop(): Promise<void>;
  readonly running: boolean;
}
