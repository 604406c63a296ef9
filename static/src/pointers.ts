// Finds the moment of a Trace that a lesson's "what to watch" pointer names
// (the same rule as app/gradstage/lessons/pointers.py, which the lesson tests check).
import type { Selector, Trace } from "./types.ts";

export interface Found { step: number; select: string | null }

export function resolvePointer(trace: Trace, at: Selector): Found | null {
  const names = new Map(trace.tensors.map((x) => [x.id, x.name ?? null]));
  const nodeNames = new Map(trace.nodes.map((n) => [n.id, n.name]));
  const nth = at.nth ?? 1;
  let seen = 0;
  for (const e of trace.events) {
    if (e.kind !== at.kind) continue;
    if (at.line != null && e.line !== at.line) continue;
    if (at.iteration != null && e.iteration !== at.iteration) continue;
    let match: string | null = null;
    if (at.tensor != null) {
      const tensor = e.tensor as string | undefined;
      const candidates = tensor ? [tensor] : ((e.roots as string[] | undefined) ?? (e.outputs as string[] | undefined) ?? []);
      match = candidates.find((c) => names.get(c) === at.tensor) ?? null;
      if (!match) continue;
    }
    if (at.node != null) {
      const node = e.node as string | undefined;
      if (!node || nodeNames.get(node) !== at.node) continue;
      match = node;
    }
    seen += 1;
    if (seen === nth) {
      const fallback = (e.tensor as string | undefined) ?? (e.node as string | undefined) ?? null;
      return { step: e.seq, select: match ?? fallback };
    }
  }
  return null;
}
