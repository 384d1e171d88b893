import { setFlagsFromString } from 'node:v8';

/**
 * V8 flags every Tally process sets before it allocates much (imported first by each entry point:
 * the CLI and the stream writer's child process; worker threads share their process's flags).
 *
 * `--no-allocation-site-pretenuring`: V8 allocates objects straight into the old generation once
 * their allocation site's objects are seen surviving. Under load it sometimes did that to node:http's
 * per-request objects (4 of 11 default runs of the bench's phases): they then died in the old
 * generation, where until the next full collection they kept the young objects they point to
 * alive, so each scavenge promoted ~16 MB and paused the api thread for 13–41 ms (up to 13% of a
 * phase in GC, reads p99 up to 119 ms). With the flag, none of 11 runs fell into that state
 * (BENCHMARKS.md, "Scavenges of 13–41 ms").
 */
setFlagsFromString('--no-allocation-site-pretenuring');
