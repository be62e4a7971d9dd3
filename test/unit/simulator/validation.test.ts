import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Simulator } from '../../../src/simulator/index.ts';
import { WsProbe, getJson, gradientPng, img2imgPromptText, postPrompt, promptBody, startTestSim, upload } from './sim-helpers.ts';

const base = () => img2imgPromptText({ image: 'smoke_src.png' });
const ERR_HEAD = { type: 'prompt_outputs_failed_validation', message: 'Prompt outputs failed validation', details: '', extra_info: {} };
const STEPS_CONFIG = ['INT', { default: 20, min: 1, max: 10000, tooltip: 'The number of steps used in the denoising process.' }];

describe('simulator prompt validation (bodies as in the wire transcript)', () => {
  let sim: Simulator;
  beforeAll(async () => {
    sim = await startTestSim();
    await upload(sim, await gradientPng(64, 48), 'smoke_src.png');
  });
  afterAll(async () => {
    await sim.close();
  });

  const cases: Array<[string, string, unknown]> = [
    [
      'unknown class_type',
      base().replace('"class_type": "KSampler"', '"class_type": "KSamplerTurbo"'),
      { error: { type: 'invalid_prompt', message: 'Cannot execute because node KSamplerTurbo does not exist.', details: "Node ID '#3'", extra_info: {} }, node_errors: {} },
    ],
    [
      'sampler_name not in a long list',
      base().replace('"sampler_name": "euler"', '"sampler_name": "euler_fancy"'),
      {
        error: ERR_HEAD,
        node_errors: { '3': { errors: [{ type: 'value_not_in_list', message: 'Value not in list', details: "sampler_name: 'euler_fancy' not in (list of length 42)", extra_info: { input_name: 'sampler_name', input_config: null, received_value: 'euler_fancy' } }], dependent_outputs: ['9'], class_type: 'KSampler' } },
      },
    ],
    [
      'denoise above max',
      base().replace('"denoise": 0.6', '"denoise": 1.5'),
      {
        error: ERR_HEAD,
        node_errors: { '3': { errors: [{ type: 'value_bigger_than_max', message: 'Value 1.5 bigger than max of 1.0', details: 'denoise', extra_info: { input_name: 'denoise', input_config: ['FLOAT', { default: 1.0, min: 0.0, max: 1.0, step: 0.01, tooltip: 'The amount of denoising applied, lower values will maintain the structure of the initial image allowing for image to image sampling.' }], received_value: 1.5 } }], dependent_outputs: ['9'], class_type: 'KSampler' } },
      },
    ],
    [
      'steps below min',
      base().replace('"steps": 8', '"steps": 0'),
      {
        error: ERR_HEAD,
        node_errors: { '3': { errors: [{ type: 'value_smaller_than_min', message: 'Value 0 smaller than min of 1', details: 'steps', extra_info: { input_name: 'steps', input_config: STEPS_CONFIG, received_value: 0 } }], dependent_outputs: ['9'], class_type: 'KSampler' } },
      },
    ],
    [
      'missing required input',
      base().replace(', "latent_image": ["11", 0]', ''),
      {
        error: ERR_HEAD,
        node_errors: { '3': { errors: [{ type: 'required_input_missing', message: 'Required input is missing', details: 'latent_image', extra_info: { input_name: 'latent_image' } }], dependent_outputs: ['9'], class_type: 'KSampler' } },
      },
    ],
    [
      'LoadImage of a missing file',
      base().replace('"image": "smoke_src.png"', '"image": "does_not_exist.png"'),
      {
        error: ERR_HEAD,
        node_errors: { '10': { errors: [{ type: 'custom_validation_failed', message: 'Custom validation failed for node', details: 'image - Invalid image file: does_not_exist.png', extra_info: { input_name: 'image' } }], dependent_outputs: ['9'], class_type: 'LoadImage' } },
      },
    ],
    [
      'steps is a non-numeric string',
      base().replace('"steps": 8', '"steps": "eight"'),
      {
        error: ERR_HEAD,
        node_errors: { '3': { errors: [{ type: 'invalid_input_type', message: 'Failed to convert an input value to a INT value', details: "steps, eight, invalid literal for int() with base 10: 'eight'", extra_info: { input_name: 'steps', input_config: STEPS_CONFIG, received_value: 'eight', exception_message: "invalid literal for int() with base 10: 'eight'" } }], dependent_outputs: ['9'], class_type: 'KSampler' } },
      },
    ],
    [
      'link to a node id that does not exist',
      base().replace('"latent_image": ["11", 0]', '"latent_image": ["99", 0]'),
      {
        error: ERR_HEAD,
        node_errors: {
          '3': {
            errors: [
              {
                type: 'exception_during_inner_validation',
                message: 'Exception when validating inner node',
                details: "'99'",
                extra_info: {
                  input_name: 'samples',
                  input_config: ['LATENT', { tooltip: 'The latent to be decoded.' }],
                  exception_message: "'99'",
                  exception_type: 'KeyError',
                  traceback: [
                    '  File "<comfyui>/execution.py", line 808, in validate_inputs\n    r = await validate_inputs(prompt_id, prompt, o_id, validated)\n        ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^\n',
                    "  File \"<comfyui>/execution.py\", line 788, in validate_inputs\n    o_class_type = prompt[o_id]['class_type']\n                   ~~~~~~^^^^^^\n",
                  ],
                  linked_node: ['3', 0],
                },
              },
            ],
            dependent_outputs: ['9'],
            class_type: 'KSampler',
          },
        },
      },
    ],
    [
      'link of the wrong type',
      base().replace('"positive": ["6", 0]', '"positive": ["4", 0]'),
      {
        error: ERR_HEAD,
        node_errors: { '3': { errors: [{ type: 'return_type_mismatch', message: 'Return type mismatch between linked nodes', details: 'positive, received_type(MODEL) mismatch input_type(CONDITIONING)', extra_info: { input_name: 'positive', input_config: ['CONDITIONING', { tooltip: 'The conditioning describing the attributes you want to include in the image.' }], received_type: 'MODEL', linked_node: ['4', 0] } }], dependent_outputs: ['9'], class_type: 'KSampler' } },
      },
    ],
    [
      'no output node',
      base().replace(/, "9": \{"class_type": "SaveImage".*\}\}$/, '}'),
      { error: { type: 'prompt_no_outputs', message: 'Prompt has no outputs', details: '', extra_info: {} }, node_errors: {} },
    ],
    [
      'ckpt_name not in list',
      base().replace('"ckpt_name": "sd_v1-5.safetensors"', '"ckpt_name": "nope.safetensors"'),
      {
        error: ERR_HEAD,
        node_errors: { '4': { errors: [{ type: 'value_not_in_list', message: 'Value not in list', details: "ckpt_name: 'nope.safetensors' not in ['sd_v1-5.safetensors', 'sdxl_base_1.0.safetensors']", extra_info: { input_name: 'ckpt_name', input_config: [['sd_v1-5.safetensors', 'sdxl_base_1.0.safetensors'], { tooltip: 'The name of the checkpoint (model) to load.' }], received_value: 'nope.safetensors' } }], dependent_outputs: ['9'], class_type: 'CheckpointLoaderSimple' } },
      },
    ],
  ];

  for (const [name, promptText, expected] of cases) {
    it(`400 for ${name}`, async () => {
      expect(promptText).not.toBe(base());
      const res = await postPrompt(sim, promptBody(promptText, { client_id: 'v' }));
      expect(res.status).toBe(400);
      expect(res.json).toEqual(expected);
    });
  }

  it('400 no_prompt for a body without prompt, and every POST still takes a number', async () => {
    const res = await postPrompt(sim, { client_id: 'v' });
    expect(res.status).toBe(400);
    expect(res.text).toBe('{"error": {"type": "no_prompt", "message": "No prompt provided", "details": "No prompt provided", "extra_info": {}}, "node_errors": {}}');
    const ok = await postPrompt(sim, promptBody(base()));
    expect(ok.status).toBe(200);
    expect(ok.json.number).toBe(cases.length + 1);
  });

  it('500 for a body that is not JSON', async () => {
    const res = await postPrompt(sim, '{not json');
    expect(res.status).toBe(500);
  });

  it('formats numbers like Python and lists short combos', async () => {
    const text = `{"1": {"class_type": "LoadImage", "inputs": {"image": "smoke_src.png"}}, "2": {"class_type": "ImageScaleBy", "inputs": {"image": ["1", 0], "upscale_method": "bicubic", "scale_by": 9}}, "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "x"}}, "4": {"class_type": "VAEEncode", "inputs": {"pixels": ["1", 0], "vae": ["5", 2]}}, "5": {"class_type": "CheckpointLoaderSimple", "inputs": {"ckpt_name": "sd_v1-5.safetensors"}}, "6": {"class_type": "LatentBlend", "inputs": {"samples1": ["4", 0], "samples2": ["4", 0], "blend_factor": 1.5}}, "7": {"class_type": "VAEDecode", "inputs": {"samples": ["6", 0], "vae": ["5", 2]}}, "8": {"class_type": "SaveImage", "inputs": {"images": ["7", 0], "filename_prefix": "y"}}, "9": {"class_type": "ImageScale", "inputs": {"image": ["1", 0], "upscale_method": "fast", "width": 0, "height": 0, "crop": "disabled"}}, "10": {"class_type": "PreviewImage", "inputs": {"images": ["9", 0]}}}`;
    const res = await postPrompt(sim, promptBody(text));
    expect(res.status).toBe(400);
    const ne = res.json.node_errors;
    expect(ne['2'].errors[0].message).toBe('Value 9.0 bigger than max of 8.0');
    expect(ne['6'].errors[0].message).toBe('Value 1.5 bigger than max of 1');
    expect(ne['9'].errors[0].details).toBe("upscale_method: 'fast' not in ['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos']");
    expect(ne['9'].errors[0].extra_info.input_config).toEqual([['nearest-exact', 'bilinear', 'area', 'bicubic', 'lanczos'], {}]);
    expect(ne['9'].dependent_outputs).toEqual(['10']);
  });

  it('accepts the prompt with 200 + node_errors when another output survives, and runs only that output', async () => {
    const ws = await WsProbe.open(sim, 'partial');
    const text = base().replace(/\}$/, ', "20": {"class_type": "LoadImage", "inputs": {"image": "gone.png"}}, "21": {"class_type": "PreviewImage", "inputs": {"images": ["20", 0]}}}');
    const res = await postPrompt(sim, promptBody(text, { client_id: 'partial', prompt_id: 'my own id' }));
    expect(res.status).toBe(200);
    expect(res.json.prompt_id).toBe('my own id');
    expect(res.json.node_errors).toEqual({
      '20': { errors: [{ type: 'custom_validation_failed', message: 'Custom validation failed for node', details: 'image - Invalid image file: gone.png', extra_info: { input_name: 'image' } }], dependent_outputs: ['21'], class_type: 'LoadImage' },
    });
    await ws.waitDone('my own id');
    const hist = await getJson(sim, '/history/my%20own%20id');
    expect(hist['my own id'].prompt[4]).toEqual(['9']);
    expect(Object.keys(hist['my own id'].outputs)).toEqual(['9']);
    ws.close();
  });

  it('coerces INT inputs like int() and ignores unknown inputs', async () => {
    const ws = await WsProbe.open(sim, 'coerce');
    const text = base().replace('"steps": 8', '"steps": 2.9, "not_an_input": {"x": 1}');
    const res = await postPrompt(sim, promptBody(text, { client_id: 'coerce' }));
    expect(res.status).toBe(200);
    await ws.waitDone(res.json.prompt_id);
    const progress = ws.frames.filter((f) => f.text?.type === 'progress');
    expect(progress.map((f) => f.text!.data.max)).toEqual([2, 2]);
    const hist = await getJson(sim, `/history/${res.json.prompt_id}`);
    expect(hist[res.json.prompt_id].prompt[2]['3'].inputs.steps).toBe(2);
    ws.close();
  });

  it('does not validate V3 combos at submit: a missing upscale model fails at run time', async () => {
    const ws = await WsProbe.open(sim, 'v3');
    const text = `{"1": {"class_type": "LoadImage", "inputs": {"image": "smoke_src.png"}}, "2": {"class_type": "UpscaleModelLoader", "inputs": {"model_name": "x.pth"}}, "3": {"class_type": "ImageUpscaleWithModel", "inputs": {"upscale_model": ["2", 0], "image": ["1", 0]}}, "4": {"class_type": "SaveImage", "inputs": {"images": ["3", 0], "filename_prefix": "up"}}}`;
    const res = await postPrompt(sim, promptBody(text, { client_id: 'v3' }));
    expect(res.status).toBe(200);
    await ws.waitDone(res.json.prompt_id);
    const types = ws.types(1);
    expect(types.slice(-3)).toEqual(['execution_error', 'status', 'executing']);
    const err = ws.frames.find((f) => f.text?.type === 'execution_error')!.text!.data;
    expect(err).toMatchObject({
      prompt_id: res.json.prompt_id,
      node_id: '2',
      node_type: 'UpscaleModelLoader',
      exception_type: 'FileNotFoundError',
      exception_message: "Model in folder 'upscale_models' with filename 'x.pth' not found.\n",
    });
    const hist = await getJson(sim, `/history/${res.json.prompt_id}`);
    expect(hist[res.json.prompt_id].status.status_str).toBe('error');
    expect(hist[res.json.prompt_id].status.completed).toBe(false);
    expect(hist[res.json.prompt_id].status.messages.at(-1)[0]).toBe('execution_error');
    ws.close();
  });
});

describe('simulator validation of a cyclic graph', () => {
  it('rejects a cycle instead of hanging', async () => {
    const sim = await startTestSim();
    try {
      const text = `{"1": {"class_type": "ImageInvert", "inputs": {"image": ["2", 0]}}, "2": {"class_type": "ImageInvert", "inputs": {"image": ["1", 0]}}, "3": {"class_type": "SaveImage", "inputs": {"images": ["2", 0], "filename_prefix": "c"}}}`;
      const res = await postPrompt(sim, promptBody(text));
      expect(res.status).toBe(400);
      expect(res.json.error.type).toBe('prompt_outputs_failed_validation');
      const errs = Object.values(res.json.node_errors as Record<string, { errors: Array<{ type: string; extra_info: { exception_type: string } }> }>).flatMap((n) => n.errors);
      expect(errs[0].type).toBe('exception_during_inner_validation');
      expect(errs[0].extra_info.exception_type).toBe('RecursionError');
    } finally {
      await sim.close();
    }
  });
});
