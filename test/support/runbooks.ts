import { parseMatcher } from '../../src/domain/matchers';
import type { Runbook, RunbookTrigger } from '../../src/runbooks/runbook';
import type { RunExecutor } from '../../src/runbooks/run-executor-port';

/** A runbook as the Runbooks kind would compile it (until that kind lands, tests build them by hand). */
export function testRunbook(name: string, triggers: readonly RunbookTrigger[],
  more: Partial<Omit<Runbook, 'matchers' | 'ciMatchers'>> & {
  matchers?: readonly string[]; ciMatchers?: readonly string[];
} = {}): Runbook {
  const { matchers = [], ciMatchers = [], ...rest } = more;
  return {
    name, triggers, approval: 'none', dryRun: false, concurrency: 1, breakerFailures: 3,
    steps: [], position: { file: 'test.yaml', line: 1, column: 1 },
    ...rest,
    matchers: matchers.map(parseMatcher), ciMatchers: ciMatchers.map(parseMatcher),
  };
}

/** An executor that records the runs it was asked to execute. */
export function recordingExecutor(): RunExecutor & { readonly calls: number[] } {
  const calls: number[] = [];
  return { calls, async execute(runId) { calls.push(runId); } };
}
