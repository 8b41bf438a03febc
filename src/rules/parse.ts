import { LineCounter, Scalar, isAlias, isMap, isScalar, isSeq, parseDocument } from 'yaml';
import type { Document, Node, Pair, YAMLMap } from 'yaml';
import { isAlgorithmName, ALGORITHM_NAMES } from '../core/algorithms/index.js';
import { MAX_UNITS } from '../core/validate.js';
import type { AlgorithmName } from '../core/algorithms/index.js';
import { MAX_WINDOW_MS } from '../core/duration.js';
import { DocumentAliases, MAX_ALIAS_NODES } from './aliases.js';
import { RULES_DEFAULT_ALGORITHM, RULE_UNITS, RulesError, UNIT_SECONDS } from './types.js';
import type { RuleLevel, RuleLimit, RuleNode, WildcardRule } from './types.js';
import { parseQuotas } from './quotas.js';
import type { NodeReader, QuotaRule } from './quotas.js';

/**
 * Every key the reference service accepts, at any depth (it checks one flat set). A reference key
 * in the wrong place is ignored there, so it is ignored here too, with a warning.
 */
const REFERENCE_KEYS = new Set([
  'domain',
  'key',
  'value',
  'descriptors',
  'rate_limit',
  'unit',
  'requests_per_unit',
  'unlimited',
  'shadow_mode',
  'quota_mode',
  'name',
  'replaces',
  'detailed_metric',
  'value_to_metric',
  'share_threshold',
  'metadata',
]);

/** Our additions; unlike the reference keys they are refused anywhere but where they mean something. */
const ROOT_KEYS = new Set(['domain', 'descriptors', 'quotas']);
const DESCRIPTOR_KEYS = new Set([
  'key',
  'value',
  'descriptors',
  'rate_limit',
  'rate_limits',
  'shadow_mode',
  'quota_mode',
  'detailed_metric',
  'value_to_metric',
  'share_threshold',
  'metadata',
]);
const RATE_LIMIT_KEYS = new Set([
  'unit',
  'requests_per_unit',
  'unlimited',
  'name',
  'replaces',
  'algorithm',
  'unit_multiplier',
]);
const REPLACES_KEYS = new Set(['name']);
const EXTENSION_PLACES: Partial<Record<string, string>> = {
  algorithm: 'rate_limit (or an item of rate_limits)',
  unit_multiplier: 'rate_limit (or an item of rate_limits)',
  rate_limits: 'a descriptor',
};

/** One parsed file: its domain and its descriptor tree. */
export interface ParsedRulesFile {
  domain: string;
  domainLine: number;
  level: RuleLevel;
  /** RLQS quotas (`quotas:`), in file order. */
  quotas: QuotaRule[];
  warnings: string[];
}

/** Reads one file's text; every refusal names the file, the line and the reason. */
class FileParser implements NodeReader {
  readonly warnings: string[] = [];
  private readonly lines = new LineCounter();
  private readonly document: Document.Parsed;
  private readonly aliases: DocumentAliases;

  constructor(
    private readonly file: string,
    text: string,
  ) {
    // YAML 1.1, as the reference service's parser reads it (`yes` and `on` are booleans there).
    this.document = parseDocument(text, { version: '1.1', lineCounter: this.lines, uniqueKeys: true });
    const [error] = this.document.errors;
    if (error) {
      const line = error.linePos?.[0].line ?? 1;
      const message = (error.message.split('\n')[0] ?? error.code).replace(/ at line \d+, column \d+:?$/, '');
      throw new RulesError(file, line, `bad YAML: ${message}`);
    }
    this.aliases = new DocumentAliases(file, this.document, this.lines);
  }

  parse(): ParsedRulesFile {
    const root = this.document.contents;
    if (root === null || (isScalar(root) && root.value === null)) {
      throw this.error(root, 'config file cannot have empty domain');
    }
    const map = this.asMap(root, 'the file');
    const fields = this.fields(map, ROOT_KEYS);
    const domain = this.text(fields.get('domain'), 'domain') ?? '';
    if (domain === '') throw this.error(fields.get('domain') ?? root, 'config file cannot have empty domain');
    const level = this.level(fields.get('descriptors'), `${domain}.`);
    const quotas = parseQuotas(this, this.file, fields.get('quotas'));
    return { domain, domainLine: this.lineOf(fields.get('domain')), level, quotas, warnings: this.warnings };
  }

  private level(node: Node | undefined, parentStatKey: string): RuleLevel {
    const byLookupKey = new Map<string, RuleNode>();
    const wildcards: WildcardRule[] = [];
    if (node === undefined || this.isNull(node)) return { byLookupKey, wildcards };
    const seq = this.resolve(node);
    if (!isSeq(seq)) throw this.error(node, 'descriptors must be a list of descriptors');
    for (const item of seq.items as Node[]) {
      const descriptor = this.descriptor(item, parentStatKey);
      if (byLookupKey.has(descriptor.lookupKey)) {
        throw this.error(item, `duplicate descriptor composite key '${descriptor.statKey}'`);
      }
      byLookupKey.set(descriptor.lookupKey, descriptor);
      if (descriptor.lookupKey.includes('*')) {
        wildcards.push({
          lookupKey: descriptor.lookupKey,
          parts: descriptor.lookupKey.split('*'),
          node: descriptor,
        });
      }
    }
    return { byLookupKey, wildcards };
  }

  private descriptor(item: Node, parentStatKey: string): RuleNode {
    const map = this.asMap(
      item,
      'a descriptors entry',
      'config error, yaml file contains list of type other than map',
    );
    const fields = this.fields(map, DESCRIPTOR_KEYS);
    const key = this.text(fields.get('key'), 'key') ?? '';
    if (key === '') throw this.error(fields.get('key') ?? item, 'descriptor has empty key');
    const value = this.text(fields.get('value'), 'value');
    const lookupKey = value === undefined || value === '' ? key : `${key}_${value}`;
    const statKey = parentStatKey + lookupKey;
    const shareThreshold = this.flag(fields.get('share_threshold'), 'share_threshold');
    if (shareThreshold && !lookupKey.includes('*')) {
      throw this.error(
        fields.get('share_threshold') ?? item,
        `share_threshold can only be used with wildcard values (containing '*'), but found key '${lookupKey}'`,
      );
    }
    const single = fields.get('rate_limit');
    const list = fields.get('rate_limits');
    if (single !== undefined && list !== undefined) {
      throw this.error(list, 'a descriptor has either rate_limit or rate_limits, not both');
    }
    const { limits, unlimited, hasRateLimit, replaces } = this.rateLimits(single, list);
    const metadata = fields.get('metadata');
    if (metadata !== undefined && !this.isNull(metadata) && !isMap(this.resolve(metadata))) {
      throw this.error(metadata, 'metadata must be a map');
    }
    return {
      key,
      value: value === '' ? undefined : value,
      lookupKey,
      limits,
      hasRateLimit,
      unlimited,
      replaces,
      shadowMode: this.flag(fields.get('shadow_mode'), 'shadow_mode'),
      quotaMode: this.flag(fields.get('quota_mode'), 'quota_mode'),
      detailedMetric: this.flag(fields.get('detailed_metric'), 'detailed_metric'),
      valueToMetric: this.flag(fields.get('value_to_metric'), 'value_to_metric'),
      shareThreshold,
      metadata:
        metadata === undefined
          ? undefined
          : this.resolve(metadata).toJS(this.document, { maxAliasCount: MAX_ALIAS_NODES }),
      statKey,
      level: this.level(fields.get('descriptors'), `${statKey}.`),
      file: this.file,
      line: this.lineOf(item),
    };
  }

  private rateLimits(
    single: Node | undefined,
    list: Node | undefined,
  ): { limits: RuleLimit[]; unlimited: boolean; hasRateLimit: boolean; replaces: string[] } {
    if (single !== undefined && !this.isNull(single)) {
      const parsed = this.rateLimit(single, true);
      if (parsed.limit === undefined)
        return { limits: [], unlimited: true, hasRateLimit: true, replaces: parsed.replaces };
      return { limits: [parsed.limit], unlimited: false, hasRateLimit: true, replaces: parsed.replaces };
    }
    if (list === undefined || this.isNull(list)) {
      return { limits: [], unlimited: false, hasRateLimit: false, replaces: [] };
    }
    const seq = this.resolve(list);
    if (!isSeq(seq) || seq.items.length === 0) throw this.error(list, 'rate_limits must be a non-empty list');
    const limits: RuleLimit[] = [];
    const counters = new Map<string, number>();
    (seq.items as Node[]).forEach((item, index) => {
      const { limit } = this.rateLimit(item, false);
      if (limit === undefined) throw this.error(item, 'unlimited belongs in rate_limit, not in rate_limits');
      const counter = `${limit.algorithm}/${limit.windowMs}`;
      const first = counters.get(counter);
      if (first !== undefined) {
        throw this.error(
          item,
          `rate_limits[${index}] has the same algorithm and window as rate_limits[${first}]: they would share one counter`,
        );
      }
      counters.set(counter, index);
      limits.push(limit);
    });
    return {
      limits,
      unlimited: false,
      hasRateLimit: true,
      replaces: limits.flatMap(({ replaces }) => replaces),
    };
  }

  /** One limit, or none when `unlimited: true`. */
  private rateLimit(
    node: Node,
    mayBeUnlimited: boolean,
  ): { limit: RuleLimit | undefined; replaces: string[] } {
    const map = this.asMap(node, 'rate_limit');
    const fields = this.fields(map, RATE_LIMIT_KEYS);
    const unlimited = this.flag(fields.get('unlimited'), 'unlimited');
    const unitText = this.text(fields.get('unit'), 'unit') ?? '';
    const unit = RULE_UNITS.find((candidate) => candidate === unitText.toLowerCase());
    const name = this.text(fields.get('name'), 'name');
    const replaces = this.replaces(fields.get('replaces'), name);
    if (unlimited) {
      if (unit !== undefined)
        throw this.error(fields.get('unit') ?? node, 'should not specify rate limit unit when unlimited');
      if (!mayBeUnlimited) return { limit: undefined, replaces };
      for (const extra of ['algorithm', 'unit_multiplier']) {
        const field = fields.get(extra);
        if (field !== undefined) throw this.error(field, `${extra} has no meaning when unlimited`);
      }
      return { limit: undefined, replaces };
    }
    if (unit === undefined)
      throw this.error(fields.get('unit') ?? node, `invalid rate limit unit '${unitText}'`);
    const algorithm = this.algorithm(fields.get('algorithm'));
    // A uint32 in the reference service; ours stops at the unit bound of every algorithm.
    const requestsPerUnit = this.integer(
      fields.get('requests_per_unit'),
      'requests_per_unit',
      0,
      MAX_UNITS,
      0,
    );
    const unitMultiplier = this.integer(
      fields.get('unit_multiplier'),
      'unit_multiplier',
      1,
      Number.MAX_SAFE_INTEGER,
      1,
    );
    const windowMs = UNIT_SECONDS[unit] * 1000 * unitMultiplier;
    if (windowMs > MAX_WINDOW_MS) {
      throw this.error(
        fields.get('unit_multiplier') ?? node,
        `the window (${unitMultiplier} x ${unit}) must be at most 366 days`,
      );
    }
    return {
      limit: { requestsPerUnit, unit, unitMultiplier, windowMs, algorithm, name, replaces },
      replaces,
    };
  }

  private replaces(node: Node | undefined, ownName: string | undefined): string[] {
    if (node === undefined || this.isNull(node)) return [];
    const seq = this.resolve(node);
    if (!isSeq(seq)) throw this.error(node, 'replaces must be a list of {name: ...}');
    return (seq.items as Node[]).map((item) => {
      const map = this.asMap(
        item,
        'a replaces entry',
        'config error, yaml file contains list of type other than map',
      );
      const fields = this.fields(map, REPLACES_KEYS);
      const name = this.text(fields.get('name'), 'name') ?? '';
      if (name === '') throw this.error(item, 'should not have an empty replaces entry');
      if (name === ownName) throw this.error(item, 'replaces should not contain name of same descriptor');
      return name;
    });
  }

  private algorithm(node: Node | undefined): AlgorithmName {
    if (node === undefined) return RULES_DEFAULT_ALGORITHM;
    const name = this.text(node, 'algorithm');
    if (!isAlgorithmName(name)) {
      throw this.error(node, `algorithm must be one of: ${ALGORITHM_NAMES.join(', ')}`);
    }
    return name;
  }

  /**
   * The map's values by key, refusing keys we do not know (and warning about misplaced reference
   * keys). YAML 1.1 merge keys (`<<: *base`, `<<: [*a, *b]`) are read as the reference service's
   * parser reads them: a key written in the map wins over a merged one, an earlier merged map over
   * a later one.
   */
  fields(map: YAMLMap, allowed: ReadonlySet<string>): Map<string, Node> {
    const fields = new Map<string, Node>();
    const merges: Node[] = [];
    for (const pair of map.items as Pair<Node, Node | null>[]) {
      const keyNode = this.resolve(pair.key);
      if (isMergeKey(keyNode)) {
        merges.push(...this.mergeSources(pair.value ?? nullAt(keyNode)));
        continue;
      }
      if (!isScalar(keyNode) || typeof keyNode.value !== 'string') {
        throw this.error(pair.key, `config error, key is not of type string: ${String(pair.key)}`);
      }
      const key = keyNode.value;
      if (!allowed.has(key)) {
        if (EXTENSION_PLACES[key] !== undefined) {
          throw this.error(pair.key, `config error, '${key}' belongs in ${EXTENSION_PLACES[key]}`);
        }
        if (!REFERENCE_KEYS.has(key)) throw this.error(pair.key, `config error, unknown key '${key}'`);
        this.warnings.push(
          `${this.file}:${this.lineOf(pair.key)}: '${key}' has no meaning here and is ignored`,
        );
        continue;
      }
      // A key with no value (`rate_limit:`) reads as null, as the reference service reads it.
      fields.set(key, pair.value ?? nullAt(keyNode));
    }
    for (const source of merges) {
      for (const [key, value] of this.fields(this.asMap(source, 'a merged value'), allowed)) {
        if (!fields.has(key)) fields.set(key, value);
      }
    }
    return fields;
  }

  /** The maps a merge key names: one map, or a list of maps. */
  private mergeSources(value: Node): Node[] {
    const resolved = this.resolve(value);
    const sources = isSeq(resolved) ? (resolved.items as Node[]) : [value];
    for (const source of sources) {
      if (!isMap(this.resolve(source))) throw this.error(value, MERGE_REFUSAL);
    }
    return sources;
  }

  text(node: Node | undefined, field: string): string | undefined {
    if (node === undefined || this.isNull(node)) return undefined;
    const scalar = this.resolve(node);
    if (!isScalar(scalar) || typeof scalar.value === 'object')
      throw this.error(node, `${field} must be text`);
    // The reference service reads `value: 123` as the text "123": keep the source as written.
    if (typeof scalar.value === 'string') return scalar.value;
    return scalar.source ?? JSON.stringify(scalar.value);
  }

  private flag(node: Node | undefined, field: string): boolean {
    if (node === undefined || this.isNull(node)) return false;
    const scalar = this.resolve(node);
    if (!isScalar(scalar) || typeof scalar.value !== 'boolean')
      throw this.error(node, `${field} must be true or false`);
    return scalar.value;
  }

  integer(node: Node | undefined, field: string, min: number, max: number, fallback: number): number {
    if (node === undefined || this.isNull(node)) return fallback;
    const scalar = this.resolve(node);
    const value = isScalar(scalar) ? scalar.value : undefined;
    if (typeof value !== 'number' || !Number.isSafeInteger(value))
      throw this.error(node, `${field} must be an integer`);
    if (value < min || value > max) throw this.error(node, `${field} must be between ${min} and ${max}`);
    return value;
  }

  asMap(node: Node, what: string, message = `${what} must be a map`): YAMLMap {
    const resolved = this.resolve(node);
    if (!isMap(resolved)) throw this.error(node, message);
    return resolved;
  }

  isNull(node: Node): boolean {
    const resolved = this.resolve(node);
    return isScalar(resolved) && resolved.value === null;
  }

  /** An alias (`*name`) stands for the node it names. */
  resolve(node: Node): Node {
    if (!isAlias(node)) return node;
    const target = this.aliases.target(node);
    if (target === undefined) throw this.error(node, `unknown alias *${node.source}`);
    return target;
  }

  lineOf(node: Node | null | undefined): number {
    const offset = node?.range?.[0];
    return offset === undefined ? 1 : this.lines.linePos(offset).line;
  }

  error(node: Node | null | undefined, reason: string): RulesError {
    return new RulesError(this.file, this.lineOf(node), reason);
  }
}

const MERGE_REFUSAL = 'a merge key (<<) takes a map or a list of maps';

/** `<<` read as a merge key (YAML 1.1): the library gives it a symbol value, not the text. */
function isMergeKey(node: Node): boolean {
  return isScalar(node) && typeof node.value === 'symbol' && node.value.description === '<<';
}

/** A stand-in null scalar where a key has no value, placed at the key for error lines. */
function nullAt(keyNode: Node): Node {
  const node = new Scalar(null);
  node.range = keyNode.range ?? null;
  return node;
}

/** Parse and validate one rules file's text (file is the name used in errors). */
export function parseRulesFile(file: string, text: string): ParsedRulesFile {
  return new FileParser(file, text).parse();
}
