import { Command, Option } from 'commander';
import { SETTINGS, resolveSettings } from '../config/settings.js';
import type { RawSetting } from '../config/settings.js';

/**
 * `ratelimiter serve`: every setting is a flag and an env var of the same meaning; flags win.
 * `onServing` is told once the service listens (the process then runs until a signal).
 */
export function serveCommand(onServing: () => void = () => undefined): Command {
  const command = new Command('serve').description('run the HTTP service until SIGTERM or SIGINT');
  // Commander names an option after its flag (--redis → "redis"), not after the setting (redisUrl).
  const attributeOf = new Map<string, string>();
  for (const spec of SETTINGS) {
    const option = new Option(spec.flag, spec.description).env(spec.env);
    if (spec.defaultText !== undefined) option.defaultValueDescription = spec.defaultText;
    command.addOption(option);
    attributeOf.set(spec.name, option.attributeName());
  }
  command.action(async (_options: Record<string, string | undefined>, self: Command) => {
    const values = self.opts<Record<string, string | undefined>>();
    const settings = resolveSettings((spec): RawSetting => {
      const attribute = attributeOf.get(spec.name) ?? spec.name;
      const source = self.getOptionValueSource(attribute);
      const from = source === 'cli' ? 'flag' : source === 'env' ? 'env' : 'default';
      return { text: values[attribute], from };
    });
    // Loaded only to serve: the client commands (check, peek, reset, nodes) start 3x faster without it.
    const { startService, stopOnSignals } = await import('../main.js');
    const service = await startService(settings);
    stopOnSignals(service, settings.shutdownTimeoutMs);
    onServing();
  });
  return command;
}
