/**
 * Reading what the fake Discord shows a user: the buttons on a message, the finished result in a
 * reply, the ephemeral text an interaction got. Shared by the Discord end-to-end test files.
 */
import { decodeJobActionId } from '../../../src/bot/shared/custom-id.ts';
import type { FakeDiscord, FakeInteraction, FakeMessage } from '../../fakes/discord/fake-discord.ts';

export function buttons(m: FakeMessage): string[] {
  return m.components.flatMap((row) => ((row.components as Array<{ custom_id?: string }>) ?? []).map((c) => c.custom_id ?? ''));
}

export function labels(m: FakeMessage): string[] {
  return m.components.flatMap((row) => ((row.components as Array<{ label?: string }>) ?? []).map((c) => c.label ?? ''));
}

export function jobIdOf(m: FakeMessage): string {
  const id = buttons(m).map((b) => decodeJobActionId(b)).find((b) => b !== undefined);
  if (!id) throw new Error(`no job button on message ${m.id}`);
  return id.jobId;
}

export function isResult(m: FakeMessage | undefined): m is FakeMessage {
  return !!m && !m.deleted && buttons(m).some((b) => b.startsWith('easel:reroll:'));
}

/** Probes bound to the fake of the running test file (created in beforeAll, hence the getter). */
export function messageProbes(fake: () => FakeDiscord) {
  return {
    /** The finished result shown in the reply of `i`. */
    resultOf(i: FakeInteraction, what = 'result', timeoutMs = 20_000): Promise<FakeMessage> {
      return fake().waitFor(() => {
        const m = fake().original(i);
        return isResult(m) && m;
      }, timeoutMs, what);
    },
    /** The reply of `i` once it shows the job's progress with a cancel button. */
    statusOf(i: FakeInteraction, what = 'status message'): Promise<FakeMessage> {
      return fake().waitFor(() => {
        const m = fake().original(i);
        return m && buttons(m).some((b) => b.startsWith('easel:cancel:')) && m;
      }, 15_000, what);
    },
    /** The ephemeral text the user was shown for `i` (an immediate reply or a follow-up). */
    ephemeralOf(i: FakeInteraction): Promise<string> {
      return fake().waitFor(() => {
        const first = i.callbacks[0];
        if (first?.type === 4 && (Number(first.data?.flags ?? 0) & 64) !== 0) return String(first.data?.content ?? '');
        const f = fake().followUps(i).find((m) => (m.flags & 64) !== 0);
        return f?.content;
      }, 20_000, 'ephemeral message');
    },
  };
}
