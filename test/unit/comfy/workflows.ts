/** Test helper: small img2img workflows and input images for the client tests against the simulator. */
import sharp from 'sharp';
import type { Workflow } from '../../../src/comfy/types.ts';

export async function pngOf(rgb: [number, number, number], size = 64): Promise<Buffer> {
  return sharp({ create: { width: size, height: size, channels: 3, background: { r: rgb[0], g: rgb[1], b: rgb[2] } } })
    .png()
    .toBuffer();
}

export interface Img2ImgOptions {
  image: string;
  steps?: number;
  denoise?: number;
  seed?: number;
  ckpt?: string;
  sampler?: string;
  prefix?: string;
  samplerTitle?: string;
}

/** CheckpointLoaderSimple(4) -> CLIPTextEncode(6,7) -> LoadImage(10) -> VAEEncode(11) -> KSampler(3) -> VAEDecode(8) -> SaveImage(9) */
export function img2img(o: Img2ImgOptions): Workflow {
  return {
    '4': { class_type: 'CheckpointLoaderSimple', inputs: { ckpt_name: o.ckpt ?? 'sd_v1-5.safetensors' }, _meta: { title: 'Load Checkpoint' } },
    '6': { class_type: 'CLIPTextEncode', inputs: { text: 'a watercolor fox', clip: ['4', 1] } },
    '7': { class_type: 'CLIPTextEncode', inputs: { text: 'blurry', clip: ['4', 1] } },
    '10': { class_type: 'LoadImage', inputs: { image: o.image } },
    '11': { class_type: 'VAEEncode', inputs: { pixels: ['10', 0], vae: ['4', 2] } },
    '3': {
      class_type: 'KSampler',
      inputs: {
        seed: o.seed ?? 42,
        steps: o.steps ?? 4,
        cfg: 7,
        sampler_name: o.sampler ?? 'euler',
        scheduler: 'normal',
        denoise: o.denoise ?? 0.6,
        model: ['4', 0],
        positive: ['6', 0],
        negative: ['7', 0],
        latent_image: ['11', 0],
      },
      ...(o.samplerTitle ? { _meta: { title: o.samplerTitle } } : {}),
    },
    '8': { class_type: 'VAEDecode', inputs: { samples: ['3', 0], vae: ['4', 2] } },
    '9': { class_type: 'SaveImage', inputs: { filename_prefix: o.prefix ?? 'easel-test/img2img', images: ['8', 0] } },
  };
}

/** img2img plus a second, broken branch (KSampler 13 with denoise 1.5 -> VAEDecode 18 -> SaveImage 19). */
export function withBrokenSecondOutput(o: Img2ImgOptions): Workflow {
  const wf = img2img(o);
  wf['13'] = { class_type: 'KSampler', inputs: { ...wf['3'].inputs, denoise: 1.5 }, _meta: { title: 'Broken sampler' } };
  wf['18'] = { class_type: 'VAEDecode', inputs: { samples: ['13', 0], vae: ['4', 2] } };
  wf['19'] = { class_type: 'SaveImage', inputs: { filename_prefix: 'easel-test/broken', images: ['18', 0] } };
  return wf;
}
