/**
 * Finding nodes in an API-format workflow by what they are (title or class), never by numeric id:
 * ComfyUI renumbers ids whenever a graph is edited and re-exported.
 */
import type { InputSpec } from '../comfy/node-catalogue.ts';
import type { Link, Workflow, WorkflowNode } from '../comfy/types.ts';
import type { BindingTarget } from './preset.ts';

const norm = (s: string): string => s.trim().toLowerCase();

export function nodeTitle(node: WorkflowNode): string | undefined {
  const t = node._meta?.title;
  return typeof t === 'string' && t.trim() ? t : undefined;
}

/** `"Sampler" (KSampler)` or `KSampler` when untitled. */
export function describeNode(node: WorkflowNode): string {
  const title = nodeTitle(node);
  return title && norm(title) !== norm(node.class_type) ? `"${title}" (${node.class_type})` : node.class_type;
}

/** Ids of every node the target names: by title (case-insensitive) and/or by class_type. */
export function findNodes(workflow: Workflow, target: Pick<BindingTarget, 'title' | 'class'>): string[] {
  const ids: string[] = [];
  for (const [id, node] of Object.entries(workflow)) {
    if (target.title !== undefined) {
      const title = nodeTitle(node);
      if (!title || norm(title) !== norm(target.title)) continue;
    }
    if (target.class !== undefined && node.class_type !== target.class) continue;
    if (target.title === undefined && target.class === undefined) continue;
    ids.push(id);
  }
  return ids;
}

/** First node with this title (case-insensitive), if any. */
export function findByTitle(workflow: Workflow, title: string): string | undefined {
  return findNodes(workflow, { title })[0];
}

/** `[nodeId, outputIndex]` with a string id is a link in API format. */
export function isLink(value: unknown): value is Link {
  return (
    Array.isArray(value) &&
    value.length === 2 &&
    typeof value[0] === 'string' &&
    typeof value[1] === 'number' &&
    Number.isInteger(value[1])
  );
}

export function targetLabel(target: BindingTarget): string {
  if (target.title !== undefined && target.class !== undefined) return `"${target.title}" (${target.class}).${target.input}`;
  if (target.title !== undefined) return `"${target.title}".${target.input}`;
  return `${target.class}.${target.input}`;
}

/**
 * Remove a pass-through node: every input linked to its output 0 is relinked to what fed its `via` input.
 * Used to drop an optional model upscaler when the host has no upscale model.
 */
export function bypassNode(workflow: Workflow, id: string, via: string): void {
  const node = workflow[id];
  if (!node) return;
  const source = node.inputs[via];
  for (const other of Object.values(workflow)) {
    for (const [name, value] of Object.entries(other.inputs)) {
      if (isLink(value) && value[0] === id) {
        if (!isLink(source)) throw new Error(`cannot bypass ${describeNode(node)}: its ${via} input is not a link`);
        other.inputs[name] = [source[0], source[1]];
      }
    }
  }
  delete workflow[id];
}

/** Delete nodes nothing links to any more (e.g. a loader left behind by bypassNode), except output nodes. */
export function pruneUnused(workflow: Workflow, ids: string[]): void {
  for (const id of ids) {
    const used = Object.values(workflow).some((n) => Object.values(n.inputs).some((v) => isLink(v) && v[0] === id));
    if (!used) delete workflow[id];
  }
}

/** LoadImage-style inputs: the server checks the file exists, not the combo list. */
export function isImageUpload(spec: InputSpec | undefined): boolean {
  if (!spec || !Array.isArray(spec.raw)) return false;
  const opts = (spec.raw as unknown[])[1];
  return typeof opts === 'object' && opts !== null && (opts as Record<string, unknown>).image_upload === true;
}

