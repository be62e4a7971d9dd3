/**
 * Run order of a prompt, as ComfyUI's ExecutionList does it: pending nodes are collected by a DFS from
 * each output (skipping cached inputs), and among ready nodes the pick prefers output nodes, then nodes
 * feeding an output, then nodes two hops away, else the first ready node in collection order.
 */
import { keysOf } from './ordered-json.ts';

type Prompt = Record<string, { class_type: string; inputs: Record<string, unknown> }>;

export function isLink(v: unknown): v is [string, number] {
  return Array.isArray(v) && v.length === 2 && typeof v[0] === 'string' && typeof v[1] === 'number';
}

export class ExecutionList {
  private readonly pending = new Map<string, true>();
  private readonly blockCount = new Map<string, number>();
  private readonly blocking = new Map<string, Set<string>>();

  constructor(
    private readonly prompt: Prompt,
    private readonly isCached: (id: string) => boolean,
    private readonly isOutput: (id: string) => boolean,
  ) {}

  addNode(start: string): void {
    const stack = [start];
    const links: Array<[string, string]> = [];
    while (stack.length > 0) {
      const id = stack.pop()!;
      if (this.pending.has(id)) continue;
      this.pending.set(id, true);
      this.blockCount.set(id, 0);
      this.blocking.set(id, new Set());
      const inputs = this.prompt[id]?.inputs ?? {};
      for (const name of keysOf(inputs)) {
        const v = inputs[name];
        if (isLink(v) && !this.isCached(v[0])) {
          stack.push(v[0]);
          links.push([v[0], id]);
        }
      }
    }
    for (const [from, to] of links) {
      const b = this.blocking.get(from)!;
      if (!b.has(to)) {
        b.add(to);
        this.blockCount.set(to, (this.blockCount.get(to) ?? 0) + 1);
      }
    }
  }

  get isEmpty(): boolean {
    return this.pending.size === 0;
  }

  next(): string | null {
    const ready = [...this.pending.keys()].filter((id) => this.blockCount.get(id) === 0);
    if (ready.length === 0) return null;
    for (const id of ready) if (this.isOutput(id)) return id;
    for (const id of ready) for (const b of this.blocking.get(id)!) if (this.isOutput(b)) return id;
    for (const id of ready)
      for (const b of this.blocking.get(id)!) for (const b2 of this.blocking.get(b) ?? []) if (this.isOutput(b2)) return id;
    return ready[0];
  }

  complete(id: string): void {
    this.pending.delete(id);
    for (const to of this.blocking.get(id) ?? []) this.blockCount.set(to, (this.blockCount.get(to) ?? 1) - 1);
  }
}
