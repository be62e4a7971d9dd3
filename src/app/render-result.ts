/**
 * Turns a finished job into files a platform can carry: the gallery (or ladder strip) first, then the
 * single images while they fit the platform's file count, each re-encoded under its byte cap. Full-size
 * PNGs carry the job parameters and the workflow, so a result dropped into ComfyUI reopens the graph.
 */
import sharp from 'sharp';
import type { Workflow } from '../comfy/types.ts';
import { encodeToFit } from '../images/fit-bytes.ts';
import { composeGalleryFitted } from '../images/gallery.ts';
import type { ImageStore } from '../images/image-store.ts';
import { addPngText } from '../images/png-metadata.ts';
import { composeStripFitted } from '../images/strip.ts';
import type { JobRecord, StoredImage } from '../jobs/types.ts';
import type { RenderedFile, RenderedResult, RenderLimits } from './types.ts';

export interface RenderInputs {
  images: ImageStore;
  summary: string[];
  actions: RenderedResult['actions'];
  /** The API workflow that made output `index` (0-based), for PNG metadata. */
  workflow?: (index: number) => Workflow | undefined;
}

/** Largest result "match input size" makes (pixels): beyond it the size is shrunk, aspect kept. */
const MAX_MATCHED_PIXELS = 64_000_000;

/** The size a result gets at "match input size": the first input's size, times the job's scale (upscales). */
export function inputMatchedSize(job: JobRecord): { width: number; height: number } | undefined {
  const input = job.inputs[0];
  if (!input || !(input.width > 0) || !(input.height > 0)) return undefined;
  const scale = typeof job.params.scale === 'number' && job.params.scale > 0 ? job.params.scale : 1;
  let width = input.width * scale;
  let height = input.height * scale;
  if (width * height > MAX_MATCHED_PIXELS) {
    const k = Math.sqrt(MAX_MATCHED_PIXELS / (width * height));
    width *= k;
    height *= k;
  }
  return { width: Math.max(1, Math.round(width)), height: Math.max(1, Math.round(height)) };
}

/** "Output: 584×440, the model's working size (your image: 1024×768)" or the matched size. */
function sizeLine(outputs: StoredImage[], job: JobRecord, matched: { width: number; height: number } | undefined): string | undefined {
  const first = outputs[0];
  const input = job.inputs[0];
  if (!first) return undefined;
  if (matched) return `Output: ${matched.width}×${matched.height}, resized to match your image`;
  const made = `Output: ${first.width}×${first.height}`;
  if (!input || (input.width === first.width && input.height === first.height)) return made;
  const scaled = typeof job.params.scale === 'number';
  return `${made}${scaled ? '' : ", the model's working size"} (your image: ${input.width}×${input.height})`;
}

export async function renderResult(job: JobRecord, limits: RenderLimits, inputs: RenderInputs): Promise<RenderedResult> {
  const outputs = job.outputs ?? [];
  const matched = limits.outputSize === 'input' ? inputMatchedSize(job) : undefined;
  let datas = await Promise.all(outputs.map((o) => inputs.images.read(o)));
  if (matched) {
    // Exactly the input's size: the model's size kept its aspect within the 8-pixel rounding.
    datas = await Promise.all(
      datas.map((d, i) =>
        outputs[i].width === matched.width && outputs[i].height === matched.height
          ? d
          : sharp(d).resize(matched.width, matched.height, { fit: 'fill', kernel: 'lanczos3' }).png().toBuffer(),
      ),
    );
  }
  const line = sizeLine(outputs, job, matched);
  const summary = line ? [...inputs.summary, line] : inputs.summary;
  const files: RenderedFile[] = [];
  const base = `easel-${job.command}-${job.id.slice(0, 8)}`;
  const spoiler = job.spoiler ? 'SPOILER_' : '';

  if (datas.length > 1) {
    const labels = outputs.map((o, i) => o.label ?? String(i + 1));
    // Composed and encoded in one pass: a photo-like grid is far cheaper as WebP/JPEG than as PNG.
    const fitted =
      job.layout === 'strip'
        ? await composeStripFitted(datas, labels, limits.maxFileBytes)
        : await composeGalleryFitted(datas, labels, limits.maxFileBytes);
    files.push({
      name: `${spoiler}${base}-${job.layout === 'strip' ? 'ladder' : 'gallery'}.${fitted.ext}`,
      data: fitted.data,
      mime: fitted.mime,
      description: job.layout === 'strip' ? `Denoise ladder: ${labels.join(', ')}` : `Gallery of ${datas.length} results`,
    });
  }

  const metadataFor = (index: number): Record<string, string> => {
    const metadata: Record<string, string> = { parameters: summary.join('\n') };
    const workflow = inputs.workflow?.(index);
    if (workflow) metadata.prompt = JSON.stringify(workflow);
    return metadata;
  };

  for (let i = 0; i < datas.length && files.length < limits.maxFiles; i++) {
    const label = outputs[i].label ?? String(i + 1);
    let data = datas[i];
    if (data.length <= limits.maxFileBytes && (matched || outputs[i].mime === 'image/png')) {
      const tagged = addPngText(data, metadataFor(i));
      if (tagged.length <= limits.maxFileBytes) data = tagged;
    }
    // Untouched (metadata kept) when it already fits; otherwise re-encoded under the cap.
    const fitted = await encodeToFit(data, limits.maxFileBytes);
    files.push({
      name: `${spoiler}${base}-${i + 1}.${fitted.ext}`,
      data: fitted.data,
      mime: fitted.mime,
      description: `Result ${label}`,
    });
  }
  return { files, summary, actions: inputs.actions };
}
