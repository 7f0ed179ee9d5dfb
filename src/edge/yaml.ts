/**
 * Where a field of a YAML file is, for error messages that name its line (the data policy and
 * the gateway config share it).
 * @module
 */
import { isMap, isNode, isScalar, isSeq, type Document, type LineCounter } from 'yaml';

/**
 * A function from a field's path to ` (<source> line <n>)`: the line of the field's key (or list
 * item); for a missing field, that of its nearest present parent.
 *
 * @example
 * ```ts
 * const locate = yamlLocator(doc, lineCounter, 'policy.yaml');
 * locate(['signals', 'torque', 'range']); // " (policy.yaml line 19)"
 * ```
 */
export function yamlLocator(doc: Document, lineCounter: LineCounter, source: string): (path: readonly (string | number)[]) => string {
  return (path) => {
    let node: unknown = doc.contents;
    let line = node && isNode(node) && node.range ? lineCounter.linePos(node.range[0]).line : undefined;
    for (const segment of path) {
      if (isMap(node)) {
        const pair = node.items.find((p) => isScalar(p.key) && String(p.key.value) === String(segment));
        if (!pair) break;
        if (isNode(pair.key) && pair.key.range) line = lineCounter.linePos(pair.key.range[0]).line;
        node = pair.value;
      } else if (isSeq(node) && typeof segment === 'number') {
        node = node.items[segment];
        if (isNode(node) && node.range) line = lineCounter.linePos(node.range[0]).line;
      } else {
        break;
      }
    }
    return line === undefined ? ` (${source})` : ` (${source} line ${line})`;
  };
}
