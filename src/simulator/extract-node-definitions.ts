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
import { parseOrdered, keysOf } from './ordered-json.ts';

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
  const out: Record<string, unknown> = {};
  for (const name of keysOf(all)) if (SIMULATED_NODES.includes(name)) out[name] = all[name];
  const missing = SIMULATED_NODES.filter((n) => !(n in out));
  if (missing.length) throw new Error(`not in the dump: ${missing.join(', ')}`);
  // JSON.stringify cannot print 2^64-1 exactly; restore the literal the server sends.
  const json = JSON.stringify(out, null, 1).replaceAll('18446744073709552000', '18446744073709551615');
  writeFileSync(root + 'src/simulator/node-definitions.json', json + '\n');
  console.log(`wrote ${Object.keys(out).length} node definitions`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) main();
