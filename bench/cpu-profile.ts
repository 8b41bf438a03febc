/**
 * A V8 CPU profile (`.cpuprofile`, as `node --cpu-prof` writes it) summarised as text: the frames
 * with the most self time, the same time grouped by where the code lives (a package, one of our
 * files, Node's internals, GC), and the inclusive time of chosen frames (every sample whose stack
 * holds the frame, counted once). Enough to find a hot path without opening a flame graph viewer.
 */
import { readFileSync } from 'node:fs';
import { formatNumber, printTable } from './stats.js';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
}

interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}

interface CpuProfile {
  nodes: ProfileNode[];
  samples: number[];
  timeDeltas: number[];
}

export interface ProfileSummary {
  /** Sampled time that was not idle, in µs. */
  busyUs: number;
  /** Self time per frame (`name file:line`), in µs. */
  selfByFrame: Map<string, number>;
  /** Self time per area: a package, one of our files, node internals, GC. */
  selfByArea: Map<string, number>;
  /** For each frame name asked about: the time of samples with it anywhere on their stack, in µs. */
  inclusive: Map<string, number>;
}

/** Where a frame's code lives: `pkg:<name>` for node_modules, `ours:<file>` for src/ or dist/. */
function areaOf({ url, functionName }: CallFrame): string {
  if (url === '') return functionName.startsWith('(') ? functionName : '(native)';
  const modules = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (modules?.[1] !== undefined) return `pkg:${modules[1]}`;
  const own = /\/(?:src|dist|bench|test)\/(.+?)\.(?:ts|js)$/.exec(url);
  if (own?.[1] !== undefined) return `ours:${own[1]}`;
  if (url.startsWith('node:')) return `node:${url.slice(5).split('/')[0] ?? ''}`;
  return url;
}

function frameName({ functionName, url, lineNumber }: CallFrame): string {
  const file = url.split('/').slice(-2).join('/');
  return `${functionName || '(anonymous)'} ${file}:${lineNumber + 1}`;
}

/** Reads a profile; `inclusiveOf` names frames (function names) whose inclusive time to report. */
export function summariseProfile(path: string, inclusiveOf: readonly string[] = []): ProfileSummary {
  const profile = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile;
  const byId = new Map(profile.nodes.map((node) => [node.id, node]));
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) for (const child of node.children ?? []) parentOf.set(child, node.id);
  const selfUs = new Map<number, number>();
  profile.samples.forEach((id, index) => {
    selfUs.set(id, (selfUs.get(id) ?? 0) + (profile.timeDeltas[index] ?? 0));
  });
  const summary: ProfileSummary = {
    busyUs: 0,
    selfByFrame: new Map(),
    selfByArea: new Map(),
    inclusive: new Map(inclusiveOf.map((name) => [name, 0])),
  };
  const add = (map: Map<string, number>, key: string, us: number) => map.set(key, (map.get(key) ?? 0) + us);
  // The profiler's own start (an inspector message) lands in the first samples: not the subject's.
  const profilerOwn = (id: number) => {
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      if (byId.get(at)?.callFrame.url === 'node:inspector') return true;
    }
    return false;
  };
  for (const [id, us] of selfUs) {
    const node = byId.get(id);
    if (!node || node.callFrame.functionName === '(idle)' || profilerOwn(id)) continue;
    summary.busyUs += us;
    add(summary.selfByFrame, frameName(node.callFrame), us);
    add(summary.selfByArea, areaOf(node.callFrame), us);
    if (inclusiveOf.length === 0) continue;
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parentOf.get(at)) {
      const name = byId.get(at)?.callFrame.functionName ?? '';
      if (summary.inclusive.has(name) && !seen.has(name)) {
        seen.add(name);
        add(summary.inclusive, name, us);
      }
    }
  }
  return summary;
}

function top(map: Map<string, number>, count: number): [string, number][] {
  return [...map].sort((a, b) => b[1] - a[1]).slice(0, count);
}

/**
 * Prints the summary as tables, times per operation (`operations` decided while profiled) and as
 * a share of the busy time.
 */
export function printProfile(title: string, summary: ProfileSummary, operations: number, count = 20): void {
  const perOp = (us: number) => formatNumber(us / Math.max(1, operations), 2);
  const share = (us: number) => `${formatNumber((100 * us) / Math.max(1, summary.busyUs), 1)} %`;
  console.log(
    `\n${title}: ${formatNumber(summary.busyUs / 1000, 0)} ms busy for ${formatNumber(operations, 0)} operations, ${perOp(summary.busyUs)} µs each`,
  );
  printTable(
    `${title}: top frames by self time`,
    [{ title: 'frame' }, { title: 'µs/op', align: 'right' }, { title: 'share', align: 'right' }],
    top(summary.selfByFrame, count).map(([frame, us]) => [frame, perOp(us), share(us)]),
  );
  printTable(
    `${title}: self time by area`,
    [{ title: 'area' }, { title: 'µs/op', align: 'right' }, { title: 'share', align: 'right' }],
    top(summary.selfByArea, count).map(([area, us]) => [area, perOp(us), share(us)]),
  );
  if (summary.inclusive.size > 0) {
    printTable(
      `${title}: inclusive time of chosen frames`,
      [{ title: 'frame' }, { title: 'µs/op', align: 'right' }, { title: 'share', align: 'right' }],
      [...summary.inclusive].map(([frame, us]) => [frame, perOp(us), share(us)]),
    );
  }
}
