import { isNode, type Document } from 'yaml';

/**
 * Where a validation issue's path points in a YAML document: the start offset of the deepest
 * node along `path` that exists (a missing key points at its parent). For `file:line:column`
 * messages through the document's LineCounter.
 */
export function offsetOf(doc: Document, path: readonly (string | number)[]): number {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return node.range[0];
  }
  return 0;
}
