import { Agent, get as httpGet } from 'node:http';
import { isIP } from 'node:net';
import type { NodeEntry, NodeRegistry } from '../registry/node-registry.js';
import type {
  WireConsoleNode,
  WireConsoleSnapshot,
  WireNodeReport,
  WireRates,
  WireStore,
  WireTallySeries,
} from '../protocol/console.js';
import { ROUTES } from '../protocol/routes.js';
import { mergeSeries, secondOf } from './decision-ring.js';
import { HeavyHitters } from './heavy-hitters.js';
import { LatencyHistogram } from './latency.js';
import type { NodeConsole } from './node-report.js';
import { parseNodeReport } from './parse-report.js';
import { DENIED_KEYS_K } from './recorder.js';

/**
 * The node asked waits this long for its peers, all asked at once, so the snapshot answers within
 * 50 ms whatever the number of nodes: a peer that has not answered by then is listed unreachable.
 */
export const PEER_TIMEOUT_MS = 40;
/** Whole seconds the "current" figures average over (the second under way is still filling). */
const CURRENT_SECONDS = 5;
/** Keys the snapshot lists; the summaries behind them hold k. */
export const TOP_KEYS_SHOWN = 20;

/** How a peer's report is fetched: by HTTP at its advertised address, unless a test says otherwise. */
export type ReportFetcher = (node: NodeEntry, authorization: string, signal: AbortSignal) => Promise<unknown>;

/** `http://host:port` of a registered node (IPv6 literals bracketed). */
export function nodeOrigin(node: Pick<NodeEntry, 'host' | 'httpPort'>): string {
  const host = isIP(node.host) === 6 ? `[${node.host}]` : node.host;
  return `http://${host}:${node.httpPort}`;
}

class PeerProblem extends Error {}

/** Kept-alive connections to the peers: the page asks every 2 s, a new connection each time would cost more than the answer. */
const PEER_AGENT = new Agent({ keepAlive: true, maxSockets: 4, timeout: 60_000 });
/** A report is about 10 kB; anything past this is not one. */
const MAX_REPORT_BYTES = 1024 * 1024;

const fetchOverHttp: ReportFetcher = (node, authorization, signal) =>
  new Promise((resolve, reject) => {
    const request = httpGet(
      `${nodeOrigin(node)}${ROUTES.consoleNode}`,
      { agent: PEER_AGENT, headers: { authorization, accept: 'application/json' }, signal },
      (response) => {
        const status = response.statusCode ?? 0;
        if (status === 401 || status === 403) reject(new PeerProblem('unauthorized'));
        else if (status !== 200) reject(new PeerProblem(`http_${status}`));
        if (status !== 200) {
          response.resume();
          return;
        }
        const chunks: Buffer[] = [];
        let bytes = 0;
        response.on('data', (chunk: Buffer) => {
          bytes += chunk.length;
          if (bytes > MAX_REPORT_BYTES) {
            request.destroy(new PeerProblem('bad_reply'));
            return;
          }
          chunks.push(chunk);
        });
        response.on('error', reject);
        response.on('end', () => {
          try {
            resolve(JSON.parse(Buffer.concat(chunks).toString('utf8')) as unknown);
          } catch {
            reject(new PeerProblem('bad_reply'));
          }
        });
      },
    );
    request.on('error', reject);
  });

export interface FleetOptions {
  node: NodeConsole;
  registry: NodeRegistry;
  peerTimeoutMs?: number;
  fetchReport?: ReportFetcher;
}

interface Answer {
  entry: NodeEntry | undefined;
  report: WireNodeReport | undefined;
  problem?: string;
}

/**
 * The console's view of the deployment, merged by the node asked: it lists the live nodes from the
 * registry and asks each peer, at its advertised address, for its own report (forwarding the
 * caller's admin token), all at once and bounded by PEER_TIMEOUT_MS. No console state goes to the
 * store: the hot path writes nothing more to Redis, and a node's figures live and die with it.
 */
export class FleetConsole {
  private readonly peerTimeoutMs: number;
  private readonly fetchReport: ReportFetcher;

  constructor(private readonly options: FleetOptions) {
    this.peerTimeoutMs = options.peerTimeoutMs ?? PEER_TIMEOUT_MS;
    this.fetchReport = options.fetchReport ?? fetchOverHttp;
  }

  async snapshot(authorization: string, nowMs = Date.now()): Promise<WireConsoleSnapshot> {
    const deadline = Date.now() + this.peerTimeoutMs;
    const self = this.options.node;
    let entries: NodeEntry[];
    let registryProblem: string | undefined;
    try {
      entries = await withDeadline(this.options.registry.list(), deadline);
    } catch (error) {
      entries = [];
      registryProblem = error instanceof PeerProblem ? 'registry_timeout' : 'registry_unreachable';
    }
    const answers: Answer[] = await Promise.all(
      entries.map((entry) =>
        entry.id === self.nodeId
          ? Promise.resolve({ entry, report: self.report(nowMs) })
          : this.ask(entry, authorization, deadline),
      ),
    );
    if (!entries.some((entry) => entry.id === self.nodeId)) {
      answers.unshift({
        entry: undefined,
        report: self.report(nowMs),
        ...(registryProblem ? { problem: registryProblem } : {}),
      });
    }
    return merge(self, answers, nowMs, this.peerTimeoutMs);
  }

  private async ask(entry: NodeEntry, authorization: string, deadline: number): Promise<Answer> {
    const controller = new AbortController();
    const timer = setTimeout(
      () => {
        controller.abort();
      },
      Math.max(1, deadline - Date.now()),
    );
    try {
      const reply = await this.fetchReport(entry, authorization, controller.signal);
      const report = parseNodeReport(reply);
      if (!report || report.nodeId !== entry.id) return { entry, report: undefined, problem: 'bad_reply' };
      return { entry, report };
    } catch (error) {
      const problem =
        error instanceof PeerProblem ? error.message : controller.signal.aborted ? 'timeout' : 'unreachable';
      return { entry, report: undefined, problem };
    } finally {
      clearTimeout(timer);
    }
  }
}

function withDeadline<T>(promise: Promise<T>, deadline: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(
      () => {
        reject(new PeerProblem('timeout'));
      },
      Math.max(1, deadline - Date.now()),
    );
  });
  return Promise.race([promise, late]).finally(() => {
    clearTimeout(timer);
  });
}

function ratesOf(series: WireTallySeries): WireRates {
  const rates: WireRates = { allowed: 0, denied: 0, degraded: 0 };
  for (let ago = 1; ago <= CURRENT_SECONDS; ago++) {
    const second = secondOf(series, ago);
    rates.allowed += second.allowed / CURRENT_SECONDS;
    rates.denied += second.denied / CURRENT_SECONDS;
    rates.degraded += second.degraded / CURRENT_SECONDS;
  }
  return rates;
}

function listed(answer: Answer, self: NodeConsole, nowMs: number): WireConsoleNode {
  const { entry, report } = answer;
  const startedAt = entry?.startedAt ?? '';
  const started = Date.parse(startedAt);
  const heartbeat = Date.parse(entry?.lastHeartbeatAt ?? '');
  return {
    id: entry?.id ?? self.nodeId,
    address: entry ? `${entry.host}:${entry.httpPort}` : '',
    version: entry?.version ?? report?.version ?? '',
    store: entry?.store ?? report?.store.kind ?? '',
    startedAt,
    uptimeSeconds: Number.isFinite(started) ? Math.max(0, Math.round((nowMs - started) / 1000)) : 0,
    heartbeatAgeMs: Number.isFinite(heartbeat) ? Math.max(0, nowMs - heartbeat) : 0,
    reachable: report !== undefined,
    ...(answer.problem === undefined ? {} : { problem: answer.problem }),
    ...(report ? { current: ratesOf(report.decisions) } : {}),
  };
}

function merge(
  self: NodeConsole,
  answers: Answer[],
  nowMs: number,
  peerTimeoutMs: number,
): WireConsoleSnapshot {
  const reports = answers.flatMap(({ report }) => (report ? [report] : []));
  const endSecond = Math.floor(nowMs / 1000);
  const fleet = mergeSeries(
    reports.map(({ decisions }) => decisions),
    endSecond,
  );
  const keys = new HeavyHitters(DENIED_KEYS_K);
  const latency = new LatencyHistogram();
  const errors: Record<string, number> = {};
  const totals = { denyCacheHits: 0, shed: 0, timeouts: 0 };
  for (const report of reports) {
    const denied = report.deniedKeys;
    keys.merge({
      k: denied.k,
      counted: denied.counted,
      maxUndercount: denied.maxUndercount,
      hitters: denied.top.map(({ key, denied: count, algorithm, limit, windowMs }) => ({
        item: self.labels.relabel(key, denied.keys),
        count,
        algorithm,
        limit,
        windowMs,
      })),
    });
    latency.add(report.store.latencyBuckets);
    for (const [reason, count] of Object.entries(report.store.errors))
      errors[reason] = (errors[reason] ?? 0) + count;
    totals.denyCacheHits += report.store.denyCacheHits;
    totals.shed += report.store.shed;
    totals.timeouts += report.store.timeouts;
  }
  const summary = keys.summary();
  const byNode: Record<string, WireTallySeries> = {};
  for (const report of reports) byNode[report.nodeId] = mergeSeries([report.decisions], endSecond);
  const storeByNode: (WireStore & { nodeId: string })[] = reports.map((report) => ({
    nodeId: report.nodeId,
    ...report.store,
  }));
  return {
    at: nowMs,
    askedNode: self.nodeId,
    keys: self.labels.mode,
    peerTimeoutMs,
    nodes: answers.map((answer) => listed(answer, self, nowMs)),
    decisions: {
      current: ratesOf(fleet),
      fleet,
      byNode,
    },
    deniedKeys: {
      keys: self.labels.mode,
      k: summary.k,
      counted: summary.counted,
      maxUndercount: summary.maxUndercount,
      top: summary.hitters.slice(0, TOP_KEYS_SHOWN).map(({ item, count, algorithm, limit, windowMs }) => ({
        key: item,
        denied: count,
        algorithm,
        limit,
        windowMs,
      })),
    },
    rules: reports.map((report) => ({ nodeId: report.nodeId, ...report.rules })),
    store: {
      latencyP50Ms: latency.quantileMs(0.5) ?? null,
      latencyP99Ms: latency.quantileMs(0.99) ?? null,
      calls: latency.count,
      errors,
      ...totals,
      byNode: storeByNode,
    },
  };
}
