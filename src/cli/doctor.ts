/** `easel doctor`: filled in by the next commit. */
import type { ParsedArgs } from './args.ts';
import { UsageError } from './usage-error.ts';

export async function doctor(_args: ParsedArgs): Promise<number> {
  throw new UsageError('easel doctor is not available in this build');
}
