import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeCatalogue, type RawObjectInfo } from '../../../src/comfy/node-catalogue.ts';
import { loadPresets } from '../../../src/commands/preset-loader.ts';
import type { Preset } from '../../../src/commands/preset.ts';
import { CommandRegistry } from '../../../src/commands/registry.ts';
import type { CommandName, ResolvedParams } from '../../../src/commands/types.ts';
import { defaultConfig, type DeepPartial } from '../../../src/config/load-config.ts';
import type { EaselConfig } from '../../../src/config/types.ts';
import type { Actor, JobRecord, StoredImage } from '../../../src/jobs/types.ts';

const here = path.dirname(fileURLToPath(import.meta.url));
export const ROOT = path.resolve(here, '..', '..', '..');
export const PRESETS_DIR = path.join(ROOT, 'config', 'presets');

export function rawObjectInfo(): RawObjectInfo {
  return JSON.parse(readFileSync(path.join(ROOT, 'test', 'fixtures', 'comfyui-0.3.64-object_info.json'), 'utf8')) as RawObjectInfo;
}

/** The real ComfyUI 0.3.64 node definitions. */
export function realCatalogue(edit?: (raw: RawObjectInfo) => void): NodeCatalogue {
  const raw = rawObjectInfo();
  edit?.(raw);
  return new NodeCatalogue(raw);
}

/** Replace the checkpoint list of the catalogue. */
export function withCheckpoints(names: string[]): NodeCatalogue {
  return realCatalogue((raw) => {
    (raw.CheckpointLoaderSimple as any).input.required.ckpt_name[0] = names;
  });
}

export function withoutUpscaleModels(): NodeCatalogue {
  return realCatalogue((raw) => {
    (raw.UpscaleModelLoader as any).input.required.model_name[1].options = [];
  });
}

let cached: Preset[] | undefined;
export async function shippedPresets(): Promise<Preset[]> {
  cached ??= await loadPresets(PRESETS_DIR);
  return cached;
}

export function config(overrides?: DeepPartial<EaselConfig>): EaselConfig {
  return defaultConfig(overrides);
}

export async function registry(overrides?: DeepPartial<EaselConfig>, seed = () => 1234): Promise<CommandRegistry> {
  return new CommandRegistry(await shippedPresets(), config(overrides), { randomSeed: seed });
}

export function image(width: number, height: number, n = 1): StoredImage {
  return { sha256: `sha${n}-${width}x${height}`, path: `ab/sha${n}.png`, width, height, mime: 'image/png', bytes: 1000 };
}

export const actor: Actor = { platform: 'discord', userId: 'u1', channelId: 'c1', serverId: 'g1', roles: ['artist'] };

export function job(command: CommandName, preset: string, params: ResolvedParams, inputs: StoredImage[], extra: Partial<JobRecord> = {}): JobRecord {
  return { id: 'job1', command, preset, params, inputs, actor, state: 'done', createdAt: 1, ...extra };
}
