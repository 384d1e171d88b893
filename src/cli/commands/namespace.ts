import { dropNamespace } from '../../composition/drop-namespace.ts';
import type { Options } from '../../config/options.ts';
import { TallyError } from '../../domain/errors.ts';

/** `tally namespace drop NAME`: removes a distributed namespace's topics, groups, tables and keys. */
export async function runNamespace(options: Options, words: readonly string[]): Promise<void> {
  const [action, name] = words;
  if (action !== 'drop' || name === undefined) {
    throw new TallyError('invalid_option', 'usage: ./tally namespace drop NAME [--store ...] [server options]; it deletes every topic, group, table and key of namespace NAME');
  }
  if (!/^[a-z][a-z0-9_]{0,30}$/.test(name)) {
    throw new TallyError('invalid_option', `invalid namespace "${name}"; expected lowercase letters, digits and _, starting with a letter, at most 31 characters`);
  }
  await dropNamespace({ ...options, namespace: name });
  process.stdout.write(`tally: dropped namespace ${name} (Kafka topics and groups, ${options.store} tables, Redis keys)\n`);
}
