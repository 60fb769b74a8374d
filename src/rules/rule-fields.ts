import { z } from 'zod';
import { parseDuration } from '../domain/duration';
import { MatcherSyntaxError, parseMatcher, type Matcher } from '../domain/matchers';
import type { DocumentContext, DocumentPath } from './rule-kind';

/** Fields that rule kinds share, with the same words in their errors. */

export const durationField = z.string().refine((s) => parseDuration(s) !== undefined, {
  error: 'expected a duration such as 30s, 5m, 1h30m',
});

export const labelNameField = z.string().regex(/^[a-zA-Z_][a-zA-Z0-9_]*$/, 'expected a label name');

export const ruleNameField = z.string().regex(/^[a-zA-Z0-9_.-]+$/, 'expected letters, digits, _ . or -').max(100);

/**
 * Parses a list of Alertmanager matchers written at `path`; each bad one is an error at its own
 * position. Returns undefined when any is bad (the item is then left out of the load).
 */
export function compileMatchers(
  texts: readonly string[], doc: DocumentContext, path: DocumentPath,
): Matcher[] | undefined {
  const matchers: Matcher[] = [];
  texts.forEach((text, j) => {
    try {
      matchers.push(parseMatcher(text));
    } catch (err) {
      if (!(err instanceof MatcherSyntaxError)) throw err;
      doc.error([...path, j], err.message);
    }
  });
  return matchers.length === texts.length ? matchers : undefined;
}
