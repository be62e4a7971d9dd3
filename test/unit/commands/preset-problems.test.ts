import { mkdtemp, mkdir, readFile, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPresets, parsePreset } from '../../../src/commands/preset-loader.ts';
import { validatePreset } from '../../../src/commands/preset-validation.ts';
import { PRESETS_DIR, realCatalogue, withCheckpoints, withoutUpscaleModels } from './helpers.ts';

const catalogue = realCatalogue();

async function sources(name: string): Promise<{ yaml: string; workflow: any }> {
  const dir = path.join(PRESETS_DIR, name);
  return { yaml: await readFile(path.join(dir, 'preset.yaml'), 'utf8'), workflow: JSON.parse(await readFile(path.join(dir, 'workflow.json'), 'utf8')) };
}

async function restyleWith(edit: (wf: any) => void, yamlEdit: (y: string) => string = (y) => y) {
  const { yaml, workflow } = await sources('restyle');
  edit(workflow);
  return parsePreset('/presets/restyle', yamlEdit(yaml), JSON.stringify(workflow));
}

describe('validatePreset reports a broken preset precisely', () => {
  it('unknown node class', async () => {
    const preset = await restyleWith((wf) => (wf['8'].class_type = 'VAEDecodeFancy'));
    const problems = validatePreset(preset, catalogue);
    expect(problems).toContainEqual(expect.objectContaining({ preset: 'restyle', node: expect.stringContaining('"VAE Decode" (VAEDecodeFancy)'), reason: expect.stringContaining('VAEDecodeFancy is not installed') }));
  });

  it('misspelt input name, with the allowed input names', async () => {
    const preset = await restyleWith((wf) => {
      wf['12'].inputs.upscale_mode = wf['12'].inputs.upscale_method;
      delete wf['12'].inputs.upscale_method;
    });
    const problems = validatePreset(preset, catalogue);
    const p = problems.find((x) => x.input === 'upscale_mode')!;
    expect(p.node).toContain('"Fit to model size" (ImageScale)');
    expect(p.reason).toContain('no input "upscale_mode"');
    expect(p.allowed).toContain('upscale_method');
    expect(problems.some((x) => x.input === 'upscale_method' && x.reason.includes('required input'))).toBe(true);
  });

  it('option range wider than the node accepts, and values outside the node range', async () => {
    const wide = await restyleWith(() => {}, (y) => y.replace(/denoise:\n(\s+)type: number\n(\s+)default: 0.6\n(\s+)min: 0.05\n(\s+)max: 1.0/, 'denoise:\n$1type: number\n$2default: 0.6\n$3min: 0.05\n$4max: 1.5'));
    expect(wide.params.find((o) => o.name === 'denoise')!.max).toBe(1.5);
    const problems = validatePreset(wide, catalogue);
    expect(problems).toContainEqual(
      expect.objectContaining({ node: '"Sampler" (KSampler)', input: 'denoise', reason: expect.stringContaining('goes up to 1.5, above the node'), allowed: '0..1' }),
    );
    const crop = await restyleWith((wf) => (wf['12'].inputs.crop = 'middle'));
    const cropProblems = validatePreset(crop, catalogue);
    expect(cropProblems).toContainEqual(expect.objectContaining({ input: 'crop', reason: '"middle" is not one of the host\'s options', allowed: 'disabled, center' }));
  });

  it('a sampler default the host does not offer', async () => {
    const preset = await restyleWith(() => {}, (y) => y.replace('choices: samplers, default: dpmpp_2m', 'choices: [dpmpp_2m, my_sampler], default: my_sampler'));
    const problems = validatePreset(preset, catalogue);
    expect(problems).toContainEqual(expect.objectContaining({ input: 'sampler_name', reason: expect.stringContaining('default "my_sampler"'), allowed: expect.stringContaining('dpmpp_2m') }));
  });

  it('a choice list written in the preset that offers a value the node does not accept', async () => {
    const preset = await restyleWith(
      () => {},
      (y) =>
        y
          .replace('  width: { type: integer', '  resize: { type: choice, choices: [lanczos, bicubic, lanczoz], default: lanczos, description: "Resize method" }\n  width: { type: integer')
          .replace('  width: { title: Fit to model size, input: width }', '  resize: { title: Fit to model size, input: upscale_method }\n  width: { title: Fit to model size, input: width }'),
    );
    expect(validatePreset(preset, catalogue)).toContainEqual(
      expect.objectContaining({ node: '"Fit to model size" (ImageScale)', input: 'upscale_method', reason: 'option resize offers "lanczoz", which the node does not accept', allowed: expect.stringContaining('lanczos') }),
    );
    // The shared sampler list is not held against a host that lacks one sampler: that value is refused per job instead.
    const fewer = realCatalogue((raw) => {
      const list = (raw.KSampler as any).input.required.sampler_name[0] as string[];
      list.splice(list.indexOf('uni_pc_bh2'), 1);
    });
    expect(validatePreset(await restyleWith(() => {}), fewer)).toEqual([]);
  });

  it('missing checkpoint: placeholder falls back to the host\'s own checkpoint of the family, a configured one does not', async () => {
    const { yaml, workflow } = await sources('restyle');
    const preset = parsePreset('/p/restyle', yaml, JSON.stringify(workflow));
    expect(validatePreset(preset, withCheckpoints(['dreamshaper_8.safetensors']))).toEqual([]);
    const none = validatePreset(preset, withCheckpoints(['juggernautXL.safetensors']));
    expect(none).toEqual([
      expect.objectContaining({
        preset: 'restyle',
        node: '"Load Checkpoint" (CheckpointLoaderSimple)',
        input: 'ckpt_name',
        reason: 'checkpoint "sd_v1-5.safetensors" is not on this host, and it has no other sd15 checkpoint',
        allowed: 'juggernautXL.safetensors',
      }),
    ]);
    const pinned = parsePreset('/p/restyle', `${yaml}\ncheckpoint: deliberate_v2.safetensors\n`, JSON.stringify(workflow));
    expect(validatePreset(pinned, withCheckpoints(['dreamshaper_8.safetensors']))).toEqual([
      expect.objectContaining({ input: 'ckpt_name', reason: expect.stringContaining('"deliberate_v2.safetensors"'), allowed: 'dreamshaper_8.safetensors' }),
    ]);
  });

  it('a required upscale model missing on the host', async () => {
    const { yaml, workflow } = await sources('upscale');
    const preset = parsePreset('/p/upscale', yaml.replace('required: false', 'required: true'), JSON.stringify(workflow));
    expect(validatePreset(preset, catalogue)).toEqual([]);
    expect(validatePreset(preset, withoutUpscaleModels())).toEqual([
      expect.objectContaining({ node: '"Load upscale model" (UpscaleModelLoader)', input: 'model_name', reason: expect.stringContaining('needs an upscale model') }),
    ]);
  });

  it('a wire between mismatched types', async () => {
    const preset = await restyleWith((wf) => (wf['3'].inputs.latent_image = ['12', 0]));
    const problems = validatePreset(preset, catalogue);
    expect(problems).toContainEqual(expect.objectContaining({ node: expect.stringContaining('"Sampler" (KSampler)'), input: 'latent_image', reason: expect.stringContaining('expects LATENT but is wired to IMAGE') }));
  });
});

describe('loadPresets tells the admin what to fix', () => {
  async function tempPreset(files: Record<string, string>): Promise<string> {
    const root = await mkdtemp(path.join(os.tmpdir(), 'easel-presets-'));
    await mkdir(path.join(root, 'mine'));
    for (const [name, text] of Object.entries(files)) await writeFile(path.join(root, 'mine', name), text);
    return root;
  }

  it('loads the shipped presets', async () => {
    const presets = await loadPresets(PRESETS_DIR);
    expect(presets.map((p) => p.name).sort()).toEqual(['blend', 'hires', 'restore', 'restyle', 'sketch', 'upscale', 'variations']);
  });

  it('a dropped-in copy of a preset under a new name loads as another preset of the same command', async () => {
    const { yaml, workflow } = await sources('restyle');
    const root = await tempPreset({ 'preset.yaml': yaml.replace('name: restyle', 'name: restyle-xl').replace('family: sd15', 'family: sdxl'), 'workflow.json': JSON.stringify(workflow) });
    const [p] = await loadPresets(root);
    expect([p.name, p.command, p.family, p.checkpoint]).toEqual(['restyle-xl', 'restyle', 'sdxl', 'sd_v1-5.safetensors']);
  });

  it('alpha: flatten by default, keep when the preset asks, anything else refused', async () => {
    const { yaml, workflow } = await sources('restyle');
    const wf = JSON.stringify(workflow);
    expect(parsePreset('/p/restyle', yaml, wf).keepAlpha).toBeUndefined();
    expect(parsePreset('/p/restyle', `${yaml}\nalpha: keep\n`, wf).keepAlpha).toBe(true);
    expect(parsePreset('/p/restyle', `${yaml}\nalpha: flatten\n`, wf).keepAlpha).toBeUndefined();
    expect(() => parsePreset('/p/restyle', `${yaml}\nalpha: true\n`, wf)).toThrow(/preset\.yaml: alpha must be "flatten" \(transparency onto white, the default\) or "keep"; got true/);
  });

  it('names the file and the problem', async () => {
    const { yaml, workflow } = await sources('restyle');
    let root = await tempPreset({ 'preset.yaml': yaml });
    await expect(loadPresets(root)).rejects.toThrow(/mine\/workflow\.json: missing: export the workflow from ComfyUI with "Export \(API\)"/);

    root = await tempPreset({ 'preset.yaml': yaml, 'workflow.json': JSON.stringify({ nodes: [], links: [] }) });
    await expect(loadPresets(root)).rejects.toThrow(/workflow\.json: this is the UI format/);

    root = await tempPreset({ 'preset.yaml': yaml.replace('{ title: Positive prompt, input: text }', '{ title: Positive prompt, input: txt }'), 'workflow.json': JSON.stringify(workflow) });
    await expect(loadPresets(root)).rejects.toThrow(/preset\.yaml: binding "prompt": node "Positive prompt" \(CLIPTextEncode\) has no input "txt"; its inputs are text, clip/);

    root = await tempPreset({ 'preset.yaml': yaml.replace('{ title: Positive prompt, input: text }', '{ title: Prompt+, input: text }'), 'workflow.json': JSON.stringify(workflow) });
    await expect(loadPresets(root)).rejects.toThrow(/binding "prompt": no node matches "Prompt\+"\.text; the workflow has .*"Positive prompt" \(CLIPTextEncode\)/);

    root = await tempPreset({ 'preset.yaml': yaml.replace('default: 0.6', 'default: 1.6'), 'workflow.json': JSON.stringify(workflow) });
    await expect(loadPresets(root)).rejects.toThrow(/option "denoise": default 1.6 is outside 0.05..1/);

    root = await tempPreset({ 'preset.yaml': yaml.replace('command: restyle', 'command: paint'), 'workflow.json': JSON.stringify(workflow) });
    await expect(loadPresets(root)).rejects.toThrow(/command must be one of restyle, upscale/);

    root = await tempPreset({ 'preset.yaml': yaml.replace('seed: { class: KSampler, input: seed }', 'seed: { id: "3", input: seed }'), 'workflow.json': JSON.stringify(workflow) });
    await expect(loadPresets(root)).rejects.toThrow(/node ids are not accepted/);

    const noSave = { ...workflow };
    delete noSave['9'];
    root = await tempPreset({ 'preset.yaml': yaml, 'workflow.json': JSON.stringify(noSave) });
    await expect(loadPresets(root)).rejects.toThrow(/workflow\.json: has no SaveImage node/);
  });
});
