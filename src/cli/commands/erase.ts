import { setTimeout as sleep } from 'node:timers/promises';
import type { Options } from '../../config/options.ts';
import { TallyError } from '../../domain/errors.ts';
import { isValidId } from '../../domain/ids.ts';
import { UsageError } from '../args.ts';

/** The status answer of GET /v1/users/{id}/erasure and GET /v1/posts/{id}/erasure. */
interface StatusBody {
  readonly status: 'none' | 'pending' | 'applied';
  readonly removed: number;
  readonly partitionsDone: number;
  readonly partitionsTotal: number;
}

/**
 * `./tally erase --user ID | --post ID [--url URL] [--token JWT] [--wait-ms MS]`: erases through
 * the running api, in both modes, so the erasure takes the same path as every other write (the
 * log, auth, the store profile's checks); the api need not be on this machine. Prints progress;
 * exits 0 once applied, 1 when the api refuses or the erasure is not applied within --wait-ms.
 */
export async function runErase(options: Options, flags: ReadonlyMap<string, string>, out: (line: string) => void = (l) => process.stdout.write(`${l}\n`)): Promise<void> {
  const user = flags.get('user');
  const post = flags.get('post');
  if ((user === undefined) === (post === undefined)) throw new UsageError('erase needs exactly one of --user ID or --post ID');
  const kind = user !== undefined ? 'users' : 'posts';
  const id = (user ?? post) as string;
  if (!isValidId(id)) throw new UsageError(`"${id.slice(0, 80)}" is not an id: ids are 1 to 64 characters of A-Z a-z 0-9 _ -`);
  const base = (flags.get('url') ?? `http://${options.host === '0.0.0.0' ? '127.0.0.1' : options.host}:${options.port}`).replace(/\/+$/, '');
  const waitMs = Number(flags.get('wait-ms') ?? '600000');
  if (!Number.isSafeInteger(waitMs) || waitMs < 1) throw new UsageError(`--wait-ms must be a whole number of milliseconds, got ${flags.get('wait-ms') ?? ''}`);
  const token = flags.get('token') ?? process.env.TALLY_TOKEN;
  const headers: Record<string, string> = token === undefined || token === '' ? {} : { authorization: `Bearer ${token}` };

  const request = async (method: string, path: string): Promise<unknown> => {
    let res: Response;
    try {
      res = await fetch(`${base}${path}`, { method, headers });
    } catch (cause) {
      throw new TallyError('backend_unavailable', `cannot reach the api at ${base} (${String(cause)}); start ./tally serve, or pass --url`, { cause });
    }
    const text = await res.text();
    const body: unknown = text === '' ? {} : JSON.parse(text);
    if (res.status >= 400) {
      const error = (body as { error?: { code?: string; message?: string } }).error;
      throw new TallyError('bad_request', `${method} ${path} answered ${res.status} ${error?.code ?? ''}: ${error?.message ?? text}`);
    }
    return body;
  };

  const what = `${kind === 'users' ? 'user' : 'post'} ${id}`;
  await request('DELETE', `/v1/${kind}/${id}/likes`);
  out(`erasing the likes of ${what}: accepted (durable in the log)`);
  const deadline = Date.now() + waitMs;
  let last = '';
  for (;;) {
    const status = (await request('GET', `/v1/${kind}/${id}/erasure`)) as StatusBody;
    const line = `${what}: ${status.status}, ${status.partitionsDone}/${status.partitionsTotal} partitions done, ${status.removed} likes removed`;
    if (line !== last) out(line);
    last = line;
    if (status.status === 'applied') return;
    if (Date.now() >= deadline) throw new TallyError('apply_timeout', `the erasure of ${what} was not applied within ${waitMs} ms (--wait-ms); it is in the log and will complete: check GET /v1/${kind}/${id}/erasure`);
    await sleep(250);
  }
}
