/**
 * ComfyUI 0.3.64's default ("classic") output cache. A node's key is its class, its change-check value
 * (LoadImage: sha256 of the file), its constant inputs and the keys of its ancestors; node ids are not
 * part of it. At the start of every prompt, entries the new prompt does not use are dropped, so hits
 * only happen against the previous prompt. Memory stays bounded to one prompt's results.
 */
import { createHash } from 'node:crypto';
import { keysOf, pyJson } from './ordered-json.ts';
import { isLink } from './execution-plan.ts';
import type { ImageRef } from '../comfy/types.ts';

export interface CacheEntry {
  outputs: unknown[];
  ui?: { images: ImageRef[] };
}

type Prompt = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

export function computeSignatures(
  prompt: Prompt,
  changeValue: (id: string) => string | null,
): Map<string, string> {
  const sigs = new Map<string, string>();
  const visiting = new Set<string>();
  const sigOf = (id: string): string | null => {
    const known = sigs.get(id);
    if (known !== undefined) return known;
    const node = prompt[id];
    if (!node || typeof node !== 'object' || visiting.has(id)) return null;
    visiting.add(id);
    const inputs = node.inputs && typeof node.inputs === 'object' ? node.inputs : {};
    const parts: unknown[] = [node.class_type, changeValue(id)];
    for (const name of [...keysOf(inputs)].sort()) {
      const v = inputs[name];
      if (isLink(v)) {
        const up = sigOf(v[0]);
        if (up === null) {
          visiting.delete(id);
          return null;
        }
        parts.push([name, 'link', up, v[1]]);
      } else {
        parts.push([name, v]);
      }
    }
    visiting.delete(id);
    const sig = createHash('sha256').update(pyJson(parts)).digest('hex');
    sigs.set(id, sig);
    return sig;
  };
  for (const id of keysOf(prompt)) sigOf(id);
  return sigs;
}

export class ClassicCache {
  private entries = new Map<string, CacheEntry>();

  /** Keep only entries the new prompt can use. */
  setPrompt(keys: Iterable<string>): void {
    const keep = new Set(keys);
    for (const k of [...this.entries.keys()]) if (!keep.has(k)) this.entries.delete(k);
  }

  get(key: string | undefined): CacheEntry | undefined {
    return key === undefined ? undefined : this.entries.get(key);
  }

  set(key: string | undefined, entry: CacheEntry): void {
    if (key !== undefined) this.entries.set(key, entry);
  }

  clear(): void {
    this.entries.clear();
  }

  get size(): number {
    return this.entries.size;
  }
}
