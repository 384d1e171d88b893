import { readFileSync } from 'node:fs';
import { TallyError } from '../../../domain/errors.ts';
import type { KeySource } from './key-source.ts';

/** The shortest HS256 secret accepted: 256 bits, the hash's size (RFC 7518 section 3.2). */
const MIN_SECRET_BYTES = 32;

/** One HS256 secret read from a file at start-up (a trailing newline is not part of it). */
export class Hs256SecretSource implements KeySource {
  readonly algorithms = ['HS256'] as const;
  readonly #secret: Uint8Array;
  readonly #path: string;

  constructor(path: string) {
    let raw: Buffer;
    try {
      raw = readFileSync(path);
    } catch (cause) {
      throw new TallyError('invalid_option', `--jwt-secret-file ${path} cannot be read: ${(cause as Error).message}`, { cause });
    }
    const text = raw.toString('utf8').replace(/\r?\n$/, '');
    if (Buffer.byteLength(text) < MIN_SECRET_BYTES) {
      throw new TallyError('invalid_option', `--jwt-secret-file ${path} holds ${Buffer.byteLength(text)} bytes; an HS256 secret needs at least ${MIN_SECRET_BYTES} (e.g. openssl rand -base64 48 > ${path})`);
    }
    this.#secret = new TextEncoder().encode(text);
    this.#path = path;
  }

  async key(): Promise<Uint8Array> {
    return this.#secret;
  }

  describe(): string {
    return `HS256 secret from ${this.#path}`;
  }
}
