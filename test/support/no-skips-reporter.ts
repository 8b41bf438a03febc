import type { Reporter, TestModule } from 'vitest/node';

/**
 * Fails the run when any test was skipped (`.skip`, `.todo`, `skipIf`): `.ci/run` sets
 * RATELIMITER_TESTS_NO_SKIPS=1, so a missing tool or a forgotten `.skip` cannot pass CI quietly.
 */
export default class NoSkipsReporter implements Reporter {
  onTestRunEnd(testModules: readonly TestModule[]): void {
    const skipped = testModules.flatMap((module) =>
      [...module.children.allTests()]
        .filter((test) => test.result().state === 'skipped')
        .map((test) => `${module.moduleId}: ${test.fullName}`),
    );
    if (skipped.length === 0) return;
    console.error(
      `\n${skipped.length} test(s) skipped, and skipping is not allowed here:\n  ${skipped.join('\n  ')}`,
    );
    process.exitCode = 1;
  }
}
