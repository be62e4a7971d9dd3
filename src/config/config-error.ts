/**
 * ConfigError: the configuration cannot be used. `problems` holds one line per problem, each naming
 * the key (and the environment variable when the value came from one) and what is wrong with it.
 * Secret values are never quoted in these messages.
 */
export class ConfigError extends Error {
  readonly problems: string[];

  constructor(problems: string[], source?: string) {
    const where = source ? ` (${source})` : '';
    super(
      problems.length === 1
        ? `Invalid configuration${where}: ${problems[0]}`
        : `Invalid configuration${where}:\n${problems.map((p) => `  - ${p}`).join('\n')}`,
    );
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

export function isConfigError(err: unknown): err is ConfigError {
  return err instanceof ConfigError;
}
