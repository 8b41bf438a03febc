import { Command, Option } from 'commander';
import { SETTINGS, resolveSettings } from '../config/settings.js';
import type { RawSetting } from '../config/settings.js';
import { startService, stopOnSignals } from '../main.js';

/** `ratelimiter serve`: every setting is a flag and an env var of the same meaning; flags win. */
export function serveCommand(): Command {
  const command = new Command('serve').description('run the HTTP service until SIGTERM or SIGINT');
  for (const spec of SETTINGS) {
    const option = new Option(spec.flag, spec.description).env(spec.env);
    if (spec.defaultText !== undefined) option.defaultValueDescription = spec.defaultText;
    command.addOption(option);
  }
  command.action(async (_options: Record<string, string | undefined>, self: Command) => {
    const values = self.opts<Record<string, string | undefined>>();
    const settings = resolveSettings((spec): RawSetting => {
      const source = self.getOptionValueSource(spec.name);
      const from = source === 'cli' ? 'flag' : source === 'env' ? 'env' : 'default';
      return { text: values[spec.name], from };
    });
    const service = await startService(settings);
    stopOnSignals(service, settings.shutdownTimeoutMs);
  });
  return command;
}
