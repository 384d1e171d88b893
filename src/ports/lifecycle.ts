/** Every port owns its connections: `init` before first use, `close` releases everything. */
export interface Lifecycle {
  init(): Promise<void>;
  close(): Promise<void>;
}
