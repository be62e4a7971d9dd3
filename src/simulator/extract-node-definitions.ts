/**
 * Developer script (not used at runtime): regenerates src/simulator/node-definitions.json from the real
 * ComfyUI 0.3.64 /object_info dump in test/fixtures, keeping only the nodes the simulator executes.
 *
 *   npx tsx src/simulator/extract-node-definitions.ts
 *
 * Model/file combo lists in the result are placeholders: the simulator replaces them per request with
 * its own fake model folders and input directory (see object-info.ts). Key order is kept from the dump.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseOrdered, keysOf, pyJson } from './ordered-json.ts';

export const SIMULATED_NODES = [
  'CheckpointLoaderSimple',
  'CLIPTextEncode',
  'LoadImage',
  'LoadImageMask',
  'VAEEncode',
  'VAEEncodeTiled',
  'VAEDecode',
  'VAEDecodeTiled',
  'KSampler',
  'KSamplerAdvanced',
  'SaveImage',
  'PreviewImage',
  'ImageScale',
  'ImageScaleBy',
  'ImageScaleToTotalPixels',
  'LatentUpscale',
  'LatentUpscaleBy',
  'RepeatLatentBatch',
  'LatentBlend',
  'UpscaleModelLoader',
  'ImageUpscaleWithModel',
  'EmptyLatentImage',
  'SetLatentNoiseMask',
  'ImageInvert',
  'InvertMask',
];

function main(): void {
  const root = fileURLToPath(new URL('../../', import.meta.url));
  const text = readFileSync(root + 'test/fixtures/comfyui-0.3.64-object_info.json', 'utf8');
  const all = parseOrdered(text) as Record<string, unknown>;
  const names = keysOf(all).filter((name) => SIMULATED_NODES.includes(name));
  const missing = SIMULATED_NODES.filter((n) => !names.includes(n));
  if (missing.length) throw new Error(`not in the dump: ${missing.join(', ')}`);
  // One node per line, printed by pyJson: it keeps 2^64-1 exact and Python's floats as floats ("8.0").
  const lines = names.map((name) => ` ${JSON.stringify(name)}: ${pyJson(all[name])}`);
  writeFileSync(root + 'src/simulator/node-definitions.json', `{\n${lines.join(',\n')}\n}\n`);
  console.log(`wrote ${names.length} node definitions`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
