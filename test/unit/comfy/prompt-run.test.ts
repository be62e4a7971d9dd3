import { describe, expect, it } from 'vitest';
import { ExecutionFailedError, PromptInterruptedError, PromptLostError } from '../../../src/comfy/errors.ts';
import { PromptTracker } from '../../../src/comfy/prompt-run.ts';
import type { PromptEvent } from '../../../src/comfy/types.ts';

const ID = '4ee2f226-dba1-414b-a3a3-c99cf6fea63c';
const wf = { '3': { class_type: 'KSampler', inputs: {} }, '9': { class_type: 'SaveImage', inputs: {} } };
const img = { filename: 'img2img_00001_.png', subfolder: 'comfy-real', type: 'output' as const };

function tracker(confirm: (t: PromptTracker) => void = () => undefined) {
  return new PromptTracker(ID, wf, confirm);
}

describe('one prompt\'s events', () => {
  it('keeps events that arrive before the POST answer and reports them after "queued"', async () => {
    const t = tracker();
    const seen: PromptEvent['type'][] = [];
    t.on((e) => seen.push(e.type));
    t.handle('execution_start', { prompt_id: ID });
    t.handle('execution_cached', { nodes: ['3'], prompt_id: ID });
    t.handle('executed', { node: '9', output: { images: [img] }, prompt_id: ID });
    t.handle('execution_success', { prompt_id: ID });
    expect(seen).toEqual([]);
    t.acknowledge(7, []);
    expect(seen).toEqual(['queued', 'started', 'cached', 'executed', 'success']);
    await expect(t.done).resolves.toEqual({ promptId: ID, outputs: { '9': [img] }, cachedNodes: ['3'] });
  });

  it('a late subscriber gets the whole story (but only the latest preview)', () => {
    const t = tracker();
    t.acknowledge(1, []);
    t.handle('execution_start', { prompt_id: ID });
    t.handle('executing', { node: '3', prompt_id: ID });
    t.handle('progress', { value: 1, max: 2, node: '3', prompt_id: ID });
    t.preview(Buffer.from('a'), 'image/jpeg');
    t.handle('progress', { value: 2, max: 2, node: '3', prompt_id: ID });
    t.preview(Buffer.from('b'), 'image/jpeg');
    const late: PromptEvent[] = [];
    t.on((e) => late.push(e));
    expect(late.map((e) => e.type)).toEqual(['queued', 'started', 'executing', 'progress', 'progress', 'preview']);
    expect(late[2]).toEqual({ type: 'executing', promptId: ID, node: '3', classType: 'KSampler' });
    expect(late[4]).toEqual({ type: 'progress', promptId: ID, node: '3', value: 2, max: 2 });
    expect((late[5] as { image: Buffer }).image.toString()).toBe('b');
  });

  it('asks /history when the end comes without outputs or after missed events', () => {
    const asked: string[] = [];
    const t = tracker((x) => asked.push(x.promptId));
    t.acknowledge(1, []);
    t.mayHaveMissed = true;
    t.handle('executed', { node: '9', output: { images: [img] }, prompt_id: ID });
    t.handle('execution_success', { prompt_id: ID });
    expect(t.settled).toBe(false);
    t.handle('executing', { node: null, prompt_id: ID });
    expect(asked).toEqual([ID]);
    t.settleFromHistory({ promptId: ID, status: 'success', completed: true, outputs: { '9': [img] }, messages: [] });
    expect(t.settled).toBe(true);
  });

  it('execution_error rejects with node, class, exception type and message', async () => {
    const t = tracker();
    t.acknowledge(1, []);
    const events: PromptEvent[] = [];
    t.on((e) => events.push(e));
    t.handle('execution_error', {
      prompt_id: ID,
      node_id: '10',
      node_type: 'LoadImage',
      exception_type: 'PIL.UnidentifiedImageError',
      exception_message: "cannot identify image file '<base>/input/broken.png'\n",
    });
    const err = await t.done.catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ExecutionFailedError);
    expect((err as Error).message).toBe(
      "LoadImage (node 10) failed: PIL.UnidentifiedImageError: cannot identify image file '<base>/input/broken.png'",
    );
    expect(events.at(-1)).toEqual({
      type: 'error',
      promptId: ID,
      node: '10',
      classType: 'LoadImage',
      exceptionType: 'PIL.UnidentifiedImageError',
      message: "cannot identify image file '<base>/input/broken.png'",
    });
  });

  it('settles from history: error, interrupted; and lost', async () => {
    const a = tracker();
    a.markAttached();
    a.settleFromHistory({
      promptId: ID,
      status: 'error',
      completed: false,
      outputs: {},
      messages: [['execution_interrupted', { prompt_id: ID, node_id: '3', node_type: 'KSampler' }]],
    });
    await expect(a.done).rejects.toBeInstanceOf(PromptInterruptedError);
    const b = tracker();
    b.markAttached();
    const events: PromptEvent[] = [];
    b.on((e) => events.push(e));
    b.lose('host restarted');
    await expect(b.done).rejects.toBeInstanceOf(PromptLostError);
    expect(events).toEqual([{ type: 'lost', promptId: ID, reason: 'host restarted' }]);
    // settled once: later news changes nothing
    b.handle('execution_success', { prompt_id: ID });
    expect(events).toHaveLength(1);
  });
});
