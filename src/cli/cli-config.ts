/**
 * The configuration a CLI subcommand runs with: the config file (--config or EASEL_CONFIG) and the
 * environment, with `--host URL` (repeatable) replacing the configured hosts. Hosts given with --host
 * get their auth from the same variables as configured ones (COMFYUI_TOKEN, COMFYUI_USER +
 * COMFYUI_PASSWORD, COMFYUI_AUTH_HEADER).
 */
import { loadConfig } from '../config/load-config.ts';
import type { EaselConfig } from '../config/types.ts';
import { flag, flagAll, type ParsedArgs } from './args.ts';
import { UsageError } from './usage-error.ts';

export function hostsFrom(args: ParsedArgs): Array<{ name: string; url: string }> | undefined {
  const urls = flagAll(args, 'host');
  if (urls.length === 0) return undefined;
  return urls.map((url, i) => {
    let parsed: URL;
    try {
      parsed = new URL(url);
    } catch {
      throw new UsageError(`--host ${url} is not a URL (expected something like http://127.0.0.1:8188)`);
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new UsageError(`--host ${url} must be an http:// or https:// URL`);
    }
    return { name: urls.length === 1 ? parsed.host.replace(/[^A-Za-z0-9._:-]/g, '') || 'host' : `host-${i + 1}`, url };
  });
}

export function cliConfig(args: ParsedArgs, extra: { timeoutMs?: number } = {}): EaselConfig {
  const hosts = hostsFrom(args)?.map((h) => (extra.timeoutMs ? { ...h, timeoutMs: extra.timeoutMs } : h));
  return loadConfig({ file: flag(args, 'config'), overrides: hosts ? { hosts } : undefined });
}
