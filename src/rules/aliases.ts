import { isAlias, isMap, isPair, isSeq, visit } from 'yaml';
import type { Alias, Document, LineCounter, Node } from 'yaml';
import { RulesError } from './types.js';

/**
 * How many nodes aliases may add to a file once expanded. A rule shared by 50,000 descriptors
 * (`rate_limit: *rl`) adds about 250,000; an alias bomb (40 nested anchors in 4.7 KB) adds 2^40.
 */
export const MAX_ALIAS_NODES = 1_000_000;

/**
 * The aliases of one document, each resolved once. The library's `alias.resolve(doc)` walks the
 * whole document per call (1,000 rules sharing one anchor took 3.9 s), and the parser, which reads
 * an alias as the node it names, would walk an alias bomb's 2^40 nodes or loop on an alias inside
 * its own anchor: both are refused here, before the parser reads anything.
 */
export class DocumentAliases {
  private readonly targets = new Map<Alias, Node>();
  private readonly expandedSizes = new Map<Node, number>();

  constructor(
    private readonly file: string,
    document: Document.Parsed,
    private readonly lines: LineCounter,
  ) {
    // The library's rule: an alias names the last node anchored so before it, in document order.
    const anchored = new Map<string, Node>();
    const literalAliases: Alias[] = [];
    visit(document, {
      Node: (_key, node) => {
        if (isAlias(node)) {
          const target = anchored.get(node.source);
          if (target !== undefined) this.targets.set(node, target);
          literalAliases.push(node);
        } else if (node.anchor !== undefined) {
          anchored.set(node.anchor, node);
        }
      },
    });
    // The expanded file is the literal one with each alias replaced by its target, expanded.
    let added = 0;
    for (const alias of literalAliases) {
      added += this.expandedSize(alias, new Set()) - 1;
      if (added > MAX_ALIAS_NODES) {
        throw this.error(
          alias,
          `aliases expand the file past ${MAX_ALIAS_NODES} nodes (at *${alias.source}): refused as an alias bomb`,
        );
      }
    }
  }

  /** The node an alias names, or undefined when no anchor of that name comes before it. */
  target(alias: Alias): Node | undefined {
    return this.targets.get(alias);
  }

  private expandedSize(node: Node, expanding: Set<Node>): number {
    const known = this.expandedSizes.get(node);
    if (known !== undefined) return known;
    let size = 1;
    if (isAlias(node)) {
      const target = this.targets.get(node);
      if (target !== undefined) {
        if (expanding.has(target)) {
          throw this.error(node, `alias *${node.source} is inside the node it names: it would never end`);
        }
        size = this.expandedSize(target, expanding);
      }
    } else if (isMap(node) || isSeq(node)) {
      expanding.add(node);
      for (const item of node.items as unknown[]) {
        if (isPair(item)) {
          size += this.childSize(item.key, expanding) + this.childSize(item.value, expanding);
        } else {
          size += this.childSize(item, expanding);
        }
      }
      expanding.delete(node);
    }
    this.expandedSizes.set(node, size);
    return size;
  }

  private childSize(child: unknown, expanding: Set<Node>): number {
    return child === null || child === undefined ? 0 : this.expandedSize(child as Node, expanding);
  }

  private error(node: Node, reason: string): RulesError {
    const offset = node.range?.[0];
    return new RulesError(this.file, offset === undefined ? 1 : this.lines.linePos(offset).line, reason);
  }
}
