import { MemoryStore } from '../../src/index.js';
import { describeConformance } from '../conformance/suite.js';

describeConformance('MemoryStore', {
  create: (clock) => new MemoryStore(clock ? { clock } : {}),
});
