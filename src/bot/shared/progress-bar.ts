/**
 * A text progress bar that reads the same in Discord, Slack and a terminal: `▰▰▰▰▱▱▱▱▱▱ 40%`.
 */
export function progressBar(done: number, total: number, width = 12): string {
  const fraction = total > 0 ? Math.min(1, Math.max(0, done / total)) : 0;
  const filled = Math.round(fraction * width);
  return `${'▰'.repeat(filled)}${'▱'.repeat(width - filled)} ${Math.floor(fraction * 100)}%`;
}
