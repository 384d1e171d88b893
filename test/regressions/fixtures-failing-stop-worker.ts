import { parentPort } from 'node:worker_threads';

// A pipeline worker whose stop fails: it says `ready`, and answers `stop` with `failed` only
// (never `stopped`), as the real worker does when closing a stage throws.
const port = parentPort;
if (port === null) throw new Error('runs as a worker thread');
port.postMessage({ t: 'ready' });
port.on('message', (message: { t: string }) => {
  if (message.t === 'stop') port.postMessage({ t: 'failed', message: 'closing the counter failed (on purpose)' });
});
