/**
 * Turns a finished job into files a platform can carry: the gallery (or ladder strip) first, then the
 * single images while they fit the platform's file count, each re-encoded under its byte cap. Full-size
 * PNGs carry the job parameters and the workflow, so a result dropped into ComfyUI reopens the graph.
 */
import type { Workflow } from '../comfy/types.ts';
import { encodeToFit } from '../images/fit-bytes.ts';
import { composeGalleryFitted } from '../images/gallery.ts';
import type { ImageStore } from '../images/image-store.ts';
import { addPngText } from '../images/png-metadata.ts';
import { composeStripFitted } from '../images/strip.ts';
import type { JobRecord } from '../jobs/types.ts';
import type { RenderedFile, RenderedResult, RenderLimits } from './types.ts';

export interface RenderInputs {
  images: ImageStore;
  summary: string[];
  actions: RenderedResult['actions'];
  /** The API workflow that made output `index` (0-based), for PNG metadata. */
  workflow?: (index: number) => Workflow | undefined;
}

export async function renderResult(job: JobRecord, limits: RenderLimits, inputs: RenderInputs): Promise<RenderedResult> {
  const outputs = job.outputs ?? [];
  const datas = await Promise.all(outputs.map((o) => inputs.images.read(o)));
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
    const metadata: Record<string, string> = { parameters: inputs.summary.join('\n') };
    const workflow = inputs.workflow?.(index);
    if (workflow) metadata.prompt = JSON.stringify(workflow);
    return metadata;
  };

  for (let i = 0; i < datas.length && files.length < limits.maxFiles; i++) {
    const label = outputs[i].label ?? String(i + 1);
    let data = datas[i];
    if (data.length <= limits.maxFileBytes && outputs[i].mime === 'image/png') {
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
  return { files, summary: inputs.summary, actions: inputs.actions };
}
