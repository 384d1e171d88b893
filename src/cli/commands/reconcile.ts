import { createPorts } from '../../composition/create-ports.ts';
import type { Options } from '../../config/options.ts';
import { TallyError } from '../../domain/errors.ts';
import { isValidId } from '../../domain/ids.ts';
import { createLogger } from '../../observability/logger.ts';
import { reconcile } from '../../stages/reconcile/reconcile.ts';

/**
 * `tally reconcile [--post ID[,ID...]]`: recounts the rows of the given posts (or of every post)
 * and puts the exact counts into the change feed; a running counter applies them in order.
 */
export async function runReconcile(options: Options, post: string | undefined): Promise<void> {
  const postIds = post === undefined ? 'all' : post.split(',');
  if (postIds !== 'all') {
    const bad = postIds.find((id) => !isValidId(id));
    if (bad !== undefined) throw new TallyError('invalid_option', `invalid --post: "${bad}" is not an id; expected 1 to 64 characters of A-Z a-z 0-9 _ -`);
  }
  const log = createLogger(options.logLevel === 'info' ? 'warn' : options.logLevel);
  const ports = await createPorts(options, log, false);
  await ports.init();
  try {
    const started = Date.now();
    const result = await reconcile(ports.likes, postIds);
    for (const [postId, count] of result.counts) process.stdout.write(`${postId}\t${count}\n`);
    process.stdout.write(
      `tally reconcile: recounted ${result.postsRecounted} post(s) in ${Date.now() - started} ms; the counter applies the exact counts in feed order (drift repairs show in tally_reconcile_repaired_total)\n`,
    );
  } finally {
    await ports.close();
  }
}
