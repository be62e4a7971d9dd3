/**
 * Descriptions and help for the options most presets share, so a preset.yaml may leave them out.
 * Descriptions are one line (<= 100 chars: Discord's limit for option descriptions).
 */
export const STANDARD_OPTION_DOCS: Record<string, { description: string; help: string }> = {
  prompt: {
    description: 'What the picture should show or look like (optional)',
    help: 'Describe the result; mention what you want to keep from the original.',
  },
  negative: {
    description: 'What to avoid, e.g. "blurry, text, watermark"',
    help: 'Things the model should steer away from. The style and the channel may add their own.',
  },
  style: {
    description: 'A named style (oil painting, watercolor, anime, ...)',
    help: 'A ready-made prompt and negative prompt for a look; your prompt is added in front of it.',
  },
  denoise: {
    description: 'How much to change: 0.3 subtle, 0.6 restyle, 0.8 transform',
    help: 'Denoise strength. 0.1-0.3 minimal change, 0.3-0.5 moderate, 0.5-0.7 significant, 0.7-0.9 major.',
  },
  seed: {
    description: 'Random seed; the same seed and settings give the same picture',
    help: 'Leave empty for a random seed. Lock it while trying other denoise values or prompts.',
  },
  steps: {
    description: 'Sampling steps (more is slower and often finer)',
    help: 'Number of denoising steps. 20-30 is usual; 30-40 for restoration.',
  },
  cfg: {
    description: 'How strictly to follow the prompt (CFG scale)',
    help: 'Classifier-free guidance. 6-7 keeps more of the original, 8-10 applies the style strongly.',
  },
  sampler: {
    description: 'Sampling algorithm, e.g. dpmpp_2m, euler, ddim',
    help: 'dpmpp_2m with karras balances quality and speed; ddim is deterministic; euler_ancestral varies more.',
  },
  scheduler: {
    description: 'Noise schedule, e.g. karras, normal, simple',
    help: 'How noise is removed over the steps. karras suits dpmpp samplers; normal or ddim_uniform suit ddim.',
  },
  count: {
    description: 'How many images to make in one run',
    help: 'Each image gets its own noise from the same seed, so the set is reproducible.',
  },
  scale: {
    description: 'Upscale factor, e.g. 2 for twice the width and height',
    help: 'The result is capped to the preset size limit, keeping the aspect ratio.',
  },
  blend: {
    description: 'Mix of the two images: 1 = only the first, 0 = only the second',
    help: 'Blend factor between the two encoded images (0.5 = equal mix) before the denoise pass.',
  },
  width: {
    description: 'Working width in pixels; 0 = automatic from the image and the model size',
    help: 'Rounded to a multiple of 8. With height 0 the aspect ratio is kept.',
  },
  height: {
    description: 'Working height in pixels; 0 = automatic from the image and the model size',
    help: 'Rounded to a multiple of 8. With width 0 the aspect ratio is kept.',
  },
  hires_denoise: {
    description: 'Denoise of the second, high-resolution pass',
    help: 'The second pass refines the upscaled latent; 0.4-0.6 adds detail without changing the picture.',
  },
  preset: {
    description: 'Which preset workflow runs this command',
    help: 'Presets are workflows the bot admin installed for this command.',
  },
};
