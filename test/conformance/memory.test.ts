import { MemoryStore } from '../../src/index.js';
import { describeConformance } from './suite.js';

describeConformance('MemoryStore', {
  create: (clock) => new MemoryStore(clock ? { clock } : {}),
});
