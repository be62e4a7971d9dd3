/**
 * `easel doctor`'s view of the presets on one host: which run, and what to install so the others do.
 * Built from the same validation Easel runs at start (validatePreset against the host's /object_info),
 * grouped by the missing thing: each node class, checkpoint or upscale model once, with the presets it
 * disables.
 */
import type { NodeCatalogue } from '../comfy/node-catalogue.ts';
import type { Preset } from '../commands/preset.ts';
import { formatProblem, validatePreset, type MissingOnHost, type PresetProblem } from '../commands/preset-validation.ts';
import { findByTitle } from '../commands/workflow-nodes.ts';

export interface InstallItem {
  missing: MissingOnHost;
  /** Presets switched off until it is installed. */
  disables: string[];
  /** Presets that still run without it but lose a step (an optional upscale model). */
  degrades: string[];
}

export interface PresetReport {
  usable: string[];
  disabled: Array<{ preset: string; problems: PresetProblem[] }>;
  /** What to install, most presets first. */
  install: InstallItem[];
  /** Problems that are not a missing node or model (a value out of range, a renamed input, ...). */
  other: PresetProblem[];
}

const keyOf = (m: MissingOnHost) => `${m.kind}\u0000${m.name}\u0000${m.anyOfFamily ?? ''}`;

export function presetReport(presets: readonly Preset[], catalogue: NodeCatalogue, optionalUpscaleModel = '4x-UltraSharp.pth'): PresetReport {
  const report: PresetReport = { usable: [], disabled: [], install: [], other: [] };
  const items = new Map<string, InstallItem>();
  const item = (m: MissingOnHost) => {
    const key = keyOf(m);
    let it = items.get(key);
    if (!it) items.set(key, (it = { missing: m, disables: [], degrades: [] }));
    return it;
  };
  for (const preset of presets) {
    const problems = validatePreset(preset, catalogue);
    if (problems.length === 0) {
      report.usable.push(preset.name);
    } else {
      report.disabled.push({ preset: preset.name, problems });
      for (const p of problems) {
        if (p.missing) {
          const it = item(p.missing);
          if (!it.disables.includes(preset.name)) it.disables.push(preset.name);
        } else report.other.push(p);
      }
    }
    // An optional upscale model: the preset runs without it, with a plain resize instead.
    const um = preset.upscaleModel;
    if (um && !um.required && problems.length === 0) {
      const loaderId = findByTitle(preset.workflow, um.loader);
      const loader = loaderId ? preset.workflow[loaderId] : undefined;
      const models = loader && catalogue.has(loader.class_type) ? catalogue.options(loader.class_type, 'model_name') : [];
      if (models.length === 0) item({ kind: 'upscale_model', name: um.prefer[0] ?? optionalUpscaleModel }).degrades.push(preset.name);
    }
  }
  report.install = [...items.values()].sort((a, b) => b.disables.length - a.disables.length || b.degrades.length - a.degrades.length);
  return report;
}

/** "custom node class X", "checkpoint file Y in models/checkpoints", ... */
export function describeInstall(m: MissingOnHost): string {
  switch (m.kind) {
    case 'node':
      return `node class ${m.name} (install the custom node pack that provides it, e.g. with ComfyUI-Manager, then restart ComfyUI)`;
    case 'checkpoint':
      return m.anyOfFamily
        ? `a ${m.anyOfFamily === 'sdxl' ? 'SDXL' : 'SD 1.5'} checkpoint in ComfyUI/models/checkpoints (e.g. ${m.name}; any ${m.anyOfFamily} checkpoint will do)`
        : `checkpoint file ${m.name} in ComfyUI/models/checkpoints (it is set in the configuration: checkpoints.*)`;
    case 'upscale_model':
      return `an upscale model in ComfyUI/models/upscale_models (e.g. ${m.name})`;
  }
}

export { formatProblem };
