/**
 * The simulator's directories (input/, output/, temp/) and ComfyUI's rules for them:
 * annotated names ("x.png [output]"), the LoadImage listing, and SaveImage's filename counter.
 */
import fs from 'node:fs';
import path from 'node:path';

export type DirType = 'input' | 'output' | 'temp';

const IMAGE_EXT = new Set([
  '.png', '.jpg', '.jpeg', '.jpe', '.webp', '.gif', '.bmp', '.tif', '.tiff', '.ico', '.svg', '.avif', '.heic', '.heif', '.jfif', '.pjpeg', '.pjp', '.apng',
]);

/** All model folder kinds ComfyUI 0.3.64 reports from GET /models. */
export const MODEL_FOLDER_KINDS = [
  'checkpoints', 'configs', 'loras', 'vae', 'text_encoders', 'diffusion_models', 'clip_vision', 'style_models',
  'embeddings', 'diffusers', 'vae_approx', 'controlnet', 'gligen', 'upscale_models', 'custom_nodes',
  'hypernetworks', 'photomaker', 'classifiers', 'model_patches', 'audio_encoders',
];

export class Folders {
  readonly input: string;
  readonly output: string;
  readonly temp: string;

  constructor(
    readonly root: string,
    readonly models: Record<string, string[]>,
  ) {
    this.input = path.join(root, 'input');
    this.output = path.join(root, 'output');
    this.temp = path.join(root, 'temp');
    for (const d of [this.input, this.output, this.temp]) fs.mkdirSync(d, { recursive: true });
  }

  dirByType(type: string | null | undefined): string | null {
    if (type === 'input') return this.input;
    if (type === 'output') return this.output;
    if (type === 'temp') return this.temp;
    return null;
  }

  /** folder_paths.annotated_filepath */
  annotated(name: string): { name: string; dir: string | null } {
    if (name.endsWith('[output]')) return { name: name.slice(0, -9), dir: this.output };
    if (name.endsWith('[input]')) return { name: name.slice(0, -8), dir: this.input };
    if (name.endsWith('[temp]')) return { name: name.slice(0, -7), dir: this.temp };
    return { name, dir: null };
  }

  /** Path LoadImage reads for a value (annotated names allowed; default input dir). */
  inputPath(value: string): string {
    const a = this.annotated(value);
    return path.join(a.dir ?? this.input, a.name);
  }

  existsAnnotated(value: string): boolean {
    try {
      return fs.existsSync(this.inputPath(value));
    } catch {
      return false;
    }
  }

  /** Sorted image files at the top level of input/ (LoadImage's combo list). */
  listInputImages(): string[] {
    let names: string[];
    try {
      names = fs.readdirSync(this.input);
    } catch {
      return [];
    }
    return names
      .filter((n) => {
        if (!IMAGE_EXT.has(path.extname(n).toLowerCase())) return false;
        try {
          return fs.statSync(path.join(this.input, n)).isFile();
        } catch {
          return false;
        }
      })
      .sort();
  }

  /** Every top-level file of input/ (LoadImageMask lists them unfiltered in 0.3.64). */
  listInputFiles(): string[] {
    try {
      return fs
        .readdirSync(this.input, { withFileTypes: true })
        .filter((d) => d.isFile())
        .map((d) => d.name)
        .sort();
    } catch {
      return [];
    }
  }

  wipeTemp(): void {
    fs.rmSync(this.temp, { recursive: true, force: true });
    fs.mkdirSync(this.temp, { recursive: true });
  }

  /**
   * folder_paths.get_save_image_path: subfolder from the prefix, counter = 1 + highest existing counter
   * of "<stem>_NNNNN_" files in that folder.
   */
  saveImagePath(
    baseDir: string,
    prefixIn: string,
    width: number,
    height: number,
  ): { folder: string; filename: string; counter: number; subfolder: string } {
    let prefix = prefixIn;
    if (prefix.includes('%')) {
      const now = new Date();
      const p2 = (n: number) => String(n).padStart(2, '0');
      prefix = prefix
        .replaceAll('%width%', String(width))
        .replaceAll('%height%', String(height))
        .replaceAll('%year%', String(now.getFullYear()))
        .replaceAll('%month%', p2(now.getMonth() + 1))
        .replaceAll('%day%', p2(now.getDate()))
        .replaceAll('%hour%', p2(now.getHours()))
        .replaceAll('%minute%', p2(now.getMinutes()))
        .replaceAll('%second%', p2(now.getSeconds()));
    }
    const norm = path.posix.normalize(prefix);
    let subfolder = path.posix.dirname(norm);
    if (subfolder === '.') subfolder = '';
    const filename = path.posix.basename(norm);
    const folder = path.resolve(baseDir, subfolder);
    const rel = path.relative(baseDir, folder);
    if (rel.startsWith('..') || path.isAbsolute(rel)) {
      throw new SaveOutsideError(
        `**** ERROR: Saving image outside the output folder is not allowed.\n full_output_folder: ${folder}\n         output_dir: ${baseDir}\n         commonpath: ${commonPath(baseDir, folder)}`,
      );
    }
    let counter = 1;
    let entries: string[] | null = null;
    try {
      entries = fs.readdirSync(folder);
    } catch {
      fs.mkdirSync(folder, { recursive: true });
    }
    if (entries) {
      const plen = filename.length;
      let best = -1;
      for (const f of entries) {
        const pre = f.slice(0, plen + 1);
        if (pre.slice(0, -1) !== filename || pre[pre.length - 1] !== '_') continue;
        const part = f.slice(plen + 1).split('_')[0];
        const digits = /^\s*[+-]?\d+\s*$/.test(part) ? parseInt(part, 10) : 0;
        if (digits > best) best = digits;
      }
      if (best >= 0) counter = best + 1;
    }
    return { folder, filename, counter, subfolder };
  }
}

export class SaveOutsideError extends Error {}

function commonPath(a: string, b: string): string {
  const pa = a.split(path.sep);
  const pb = b.split(path.sep);
  const out: string[] = [];
  for (let i = 0; i < Math.min(pa.length, pb.length) && pa[i] === pb[i]; i++) out.push(pa[i]);
  return out.join(path.sep) || path.sep;
}

/** True when `child` is `parent` or inside it (os.path.commonpath check). */
export function isInside(parent: string, child: string): boolean {
  const rel = path.relative(parent, child);
  return rel === '' || (!rel.startsWith('..') && !path.isAbsolute(rel));
}
