#!/usr/bin/env node
import { Command, CommanderError } from 'commander';
import { SettingError } from '../config/settings.js';
import { PACKAGE_VERSION } from '../config/version.js';
import { RateLimiterError } from '../core/errors.js';
import { redactSecrets } from '../logging/redact.js';
import { RulesError } from '../rules/types.js';
import { CliError } from './backends.js';
import { EXIT_ERROR, clientCommands } from './client-commands.js';
import { leaseCommands } from './lease-commands.js';
import { serveCommand } from './serve-command.js';

const program = new Command('ratelimiter')
  .description(
    'Distributed rate limiter: run the service, or check, peek, reset, list nodes, and acquire, release and renew leases',
  )
  .version(PACKAGE_VERSION)
  .showHelpAfterError(false)
  .exitOverride();

const run = { serving: false };
program.addCommand(
  serveCommand(() => {
    run.serving = true;
  }),
);
for (const command of [...clientCommands(), ...leaseCommands()]) program.addCommand(command);
// Subcommands inherit neither exitOverride nor its effect: set it on each so usage errors exit 2 too.
for (const command of program.commands) command.exitOverride();

/** One line on stderr, exit 2: the shape of every failure a user can cause; never a credential. */
function fail(message: string): void {
  process.stderr.write(`error: ${redactSecrets(message)}\n`);
  process.exitCode = EXIT_ERROR;
}

try {
  await program.parseAsync(process.argv);
} catch (error) {
  if (error instanceof CommanderError) {
    // Commander has printed its own one-line message (or the help); only the exit code is ours.
    process.exitCode = error.exitCode === 0 ? 0 : EXIT_ERROR;
  } else if (error instanceof RulesError) {
    fail(`invalid rules: ${error.message}`);
  } else if (
    error instanceof SettingError ||
    error instanceof CliError ||
    error instanceof RateLimiterError
  ) {
    fail(error.message);
  } else {
    fail(error instanceof Error ? error.message : String(error));
  }
}

// A client command has its answer: exit now rather than when the last library timer fires (ioredis
// keeps a 2 s one after a refused connection). stdout and stderr are written synchronously on Linux
// for files and pipes; the callback covers the rest.
if (!run.serving) process.stdout.write('', () => process.exit());
