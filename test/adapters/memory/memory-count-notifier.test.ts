import { MemoryCountNotifier } from '../../../src/adapters/memory/memory-count-notifier.ts';
import { countNotifierConformance } from '../../conformance/count-notifier.conformance.ts';

countNotifierConformance('memory', async () => {
  const notifier = new MemoryCountNotifier();
  await notifier.init();
  return { publisher: notifier, subscriber: notifier, stranger: new MemoryCountNotifier(), cleanup: () => notifier.close() };
});
