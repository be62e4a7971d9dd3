import { describe, expect, it } from 'vitest';
import { readFileSync } from 'node:fs';
import { WorkflowRejectedError } from '../../../src/comfy/errors.ts';
import { NodeCatalogue } from '../../../src/comfy/node-catalogue.ts';
import {
  describeNodeErrors,
  missingInputImages,
  parsePythonStringList,
  rejectionFromBody,
} from '../../../src/comfy/problems.ts';
import type { Workflow } from '../../../src/comfy/types.ts';
import * as bodies from './fixtures/transcript-400-bodies.ts';

const wf = bodies.img2imgWorkflow;
/** The same workflow with a KSampler the user titled "Sampler". */
const titled: Workflow = { ...wf, '3': { ...wf['3'], _meta: { title: 'Sampler' } } };

function reasons(body: unknown, workflow: Workflow = wf, cat?: NodeCatalogue): string[] {
  return rejectionFromBody(body, workflow, cat).problems.map((p) => p.reason);
}

describe('validation errors in plain words (exact 400 bodies of ComfyUI 0.3.64)', () => {
  it('names node class, title, id, input and the limit for a value above its maximum', () => {
    const err = rejectionFromBody(bodies.denoiseTooHigh, titled);
    expect(err).toBeInstanceOf(WorkflowRejectedError);
    expect(err.problems).toEqual([
      {
        nodeId: '3',
        classType: 'KSampler',
        title: 'Sampler',
        input: 'denoise',
        type: 'value_bigger_than_max',
        reason: 'KSampler "Sampler" (node 3): denoise 1.5 is above the maximum 1.0',
      },
    ]);
    expect(err.message).toContain('KSampler "Sampler" (node 3): denoise 1.5 is above the maximum 1.0');
  });

  it('leaves out a title that only repeats the class name', () => {
    expect(reasons(bodies.denoiseTooHigh)).toEqual(['KSampler (node 3): denoise 1.5 is above the maximum 1.0']);
  });

  it('value below the minimum', () => {
    expect(reasons(bodies.stepsTooLow)).toEqual(['KSampler (node 3): steps 0 is below the minimum 1']);
  });

  it('a LoadImage file the host does not have', () => {
    const err = rejectionFromBody(bodies.missingImage, wf);
    expect(err.problems[0].reason).toBe('LoadImage (node 10): image file "does_not_exist.png" is not on the host');
    expect(err.problems[0].input).toBe('image');
    expect(missingInputImages(err.problems)).toEqual(['does_not_exist.png']);
  });

  it('a checkpoint that is not one of the host options lists the options', () => {
    expect(reasons(bodies.ckptNotInList)).toEqual([
      'CheckpointLoaderSimple "Load Checkpoint" (node 4): ckpt_name "nope.safetensors" is not one of the host\'s options: sd_v1-5.safetensors, sdxl_base_1.0.safetensors',
    ]);
  });

  it('a long option list (sent by ComfyUI only as a length) counts the options, and suggests one from the catalogue', () => {
    expect(reasons(bodies.samplerNotInList)).toEqual([
      'KSampler (node 3): sampler_name "euler_fancy" is not one of the host\'s 42 options',
    ]);
    const raw = JSON.parse(readFileSync(new URL('../../fixtures/comfyui-0.3.64-object_info.json', import.meta.url), 'utf8'));
    const cat = new NodeCatalogue(raw);
    const withCatalogue = reasons(bodies.samplerNotInList, wf, cat)[0];
    expect(withCatalogue).toMatch(/^KSampler \(node 3\): sampler_name "euler_fancy" is not one of the host's \d+ options \(did you mean "euler"\?\)$/);
  });

  it('missing required input', () => {
    expect(reasons(bodies.missingInput)).toEqual(['KSampler (node 3): required input latent_image is missing']);
  });

  it('a value of the wrong type', () => {
    expect(reasons(bodies.stepsNotNumber)).toEqual([
      'KSampler (node 3): steps "eight" is not a whole number (invalid literal for int() with base 10: \'eight\')',
    ]);
  });

  it('a link to a node that does not exist', () => {
    expect(reasons(bodies.linkToMissingNode)).toEqual([
      'KSampler (node 3): input samples links to node 99, which is not in the workflow',
    ]);
  });

  it('a link of the wrong type names both ends', () => {
    expect(reasons(bodies.wrongLinkType)).toEqual([
      'KSampler (node 3): input positive needs CONDITIONING but is connected to MODEL from CheckpointLoaderSimple "Load Checkpoint" (node 4) output 0',
    ]);
  });

  it('an unknown node type', () => {
    const err = rejectionFromBody(bodies.unknownClass, { ...wf, '3': { class_type: 'KSamplerTurbo', inputs: wf['3'].inputs } });
    expect(err.problems).toEqual([
      {
        nodeId: '3',
        classType: 'KSamplerTurbo',
        title: undefined,
        type: 'invalid_prompt',
        reason: 'KSamplerTurbo (node 3): the host does not have this node type (is a custom node missing?)',
      },
    ]);
  });

  it('no output node, and no workflow at all', () => {
    expect(reasons(bodies.noOutputs)).toEqual([
      'the workflow has no output node (such as SaveImage), so it would produce nothing',
    ]);
    expect(reasons(bodies.noPrompt)).toEqual(['the request contained no workflow']);
  });

  it('several problems on several nodes are all reported', () => {
    const body = {
      error: { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '', extra_info: {} },
      node_errors: {
        ...bodies.denoiseTooHigh.node_errors,
        ...bodies.missingImage.node_errors,
      },
    };
    expect(reasons(body, titled)).toEqual([
      'KSampler "Sampler" (node 3): denoise 1.5 is above the maximum 1.0',
      'LoadImage (node 10): image file "does_not_exist.png" is not on the host',
    ]);
  });

  it('maps the other documented error types', () => {
    const node = (type: string, message: string, details: string, extra: Record<string, unknown>) =>
      describeNodeErrors({ '3': { errors: [{ type, message, details, extra_info: extra }], class_type: 'KSampler' } }, wf)[0]
        .reason;
    expect(node('bad_linked_input', 'Bad linked input, must be a length-2 list of [node_id, slot_index]', 'model', {
      input_name: 'model',
      received_value: ['4'],
    })).toBe('KSampler (node 3): input model must be a link [node id, output index] but is ["4"]');
    expect(node('exception_during_validation', 'Exception when validating node', "'NoneType' object is not subscriptable", {
      exception_type: 'TypeError',
    })).toBe("KSampler (node 3): could not be checked by the host (TypeError: 'NoneType' object is not subscriptable)");
    expect(node('exception_during_inner_validation', 'Exception when validating inner node', 'tuple index out of range', {
      input_name: 'model',
      exception_type: 'IndexError',
    })).toBe('KSampler (node 3): input model uses an output index the source node does not have');
    expect(node('dependency_cycle', 'Dependency cycle detected', '3 (KSampler) -> 8 (VAEDecode) -> 3 (KSampler)', {})).toBe(
      'KSampler (node 3): the workflow has a loop: 3 (KSampler) -> 8 (VAEDecode) -> 3 (KSampler)',
    );
    expect(node('custom_validation_failed', 'Custom validation failed for node', 'width - must be a multiple of 8', {
      input_name: 'width',
    })).toBe('KSampler (node 3): width: must be a multiple of 8');
    expect(node('value_not_in_list', 'Value not in list', "ckpt_name: 'x.safetensors' not in []", {
      input_name: 'ckpt_name',
      input_config: [[], {}],
      received_value: 'x.safetensors',
    })).toBe('KSampler (node 3): ckpt_name "x.safetensors" is not available: the host has no options for it (is its model folder empty?)');
    expect(node('value_not_in_list', 'Value not in list', "upscale_method: 'x' not in ['nearest-exact', 'bilinear']", {
      input_name: 'upscale_method',
      input_config: ['COMBO', { options: ['nearest-exact', 'bilinear'] }],
      received_value: 'x',
    })).toBe('KSampler (node 3): upscale_method "x" is not one of the host\'s options: nearest-exact, bilinear');
  });

  it('top-level errors of newer ComfyUI versions', () => {
    expect(
      reasons({
        error: {
          type: 'missing_node_type',
          message: "Node 'Turbo' not found. The custom node may not be installed.",
          details: "Node ID '#3'",
          extra_info: { node_id: '3', class_type: 'KSamplerTurbo', node_title: 'Turbo' },
        },
        node_errors: {},
      }),
    ).toEqual(['KSamplerTurbo "Turbo" (node 3): the host does not have this node type (is a custom node missing?)']);
    expect(
      reasons({ error: { type: 'invalid_prompt_id', message: 'prompt_id must be a valid UUID', details: 'got x', extra_info: {} }, node_errors: {} }),
    ).toEqual(['the host refused the prompt id: got x']);
  });

  it('parses Python list reprs, including quotes inside names', () => {
    expect(parsePythonStringList(`['a', "b's", 'c d']`)).toEqual(['a', "b's", 'c d']);
    expect(parsePythonStringList('[]')).toEqual([]);
    expect(parsePythonStringList('(list of length 42)')).toBeUndefined();
  });
});
