import { MemoryQuotaStore } from '../../src/stores/memory/memory-quota-store.js';
import { describeQuotaConformance } from '../conformance/quotas.js';

describeQuotaConformance('MemoryQuotaStore', { create: (clock) => new MemoryQuotaStore(clock) });
