/**
 * What Easel tells people when its images are simulated: the built-in simulator stands in because no
 * ComfyUI host is configured, or the configured hosts are themselves simulators (`easel simulator`).
 * Shown in the start banner and in chat status. undefined: real GPU hosts (or some of them).
 */
import type { AppStatus } from './types.ts';

export function simulatedNote(status: Pick<AppStatus, 'builtInSimulator' | 'simulated' | 'hosts'>): string | undefined {
  if (status.builtInSimulator) return 'No ComfyUI host configured: Easel runs on the built-in simulator (simulated images, no GPU).';
  if (status.simulated) {
    return `The configured ComfyUI host${status.hosts.length === 1 ? ' is a simulator' : 's are simulators'} (simulated images, no GPU).`;
  }
  return undefined;
}
