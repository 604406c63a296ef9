// The graph the page draws, built from a Trace (pure: no DOM, no layout).
import type { GraphNode, TensorInfo, Trace } from "./types.ts";
import type { View } from "./store.ts";

export interface DNode {
  id: string;
  kind: "tensor" | "op";
  sub: string;
  label: string;
  title: string;
  line: number | null;
  module: string | null;
  width: number;
  height: number;
  tensor?: TensorInfo;
  node?: GraphNode;
  members?: string[];
}

export interface DEdge {
  id: string;
  src: string;
  dst: string;
  cut: boolean;
  label?: string;
}

export interface DGraph {
  nodes: DNode[];
  edges: DEdge[];
  byId: Map<string, DNode>;
  /** trace tensor/node id -> the drawn node standing for it (itself, or its collapsed module) */
  owner: Map<string, string>;
}

const TENSOR_W = 112;
const TENSOR_H = 58;
const OP_W = 48;
const OP_H = 34;

/** A tensor's name, or else its shape (``scalar``, in the page's language, for a 0-dim one; its value is drawn below). */
export function tensorLabel(t: TensorInfo, scalar = "scalar"): string {
  return t.name ?? (t.shape.length ? `[${t.shape.join("×")}]` : scalar);
}

function tensorNode(t: TensorInfo, scalar: string): DNode {
  const shape = t.shape.length ? t.shape.join("×") : scalar;
  return {
    id: t.id, kind: "tensor", sub: t.cut ? "detached" : t.kind, label: tensorLabel(t, scalar),
    title: `${t.name ? `${t.name}: ` : ""}${shape} ${t.dtype}${t.requires_grad ? ", requires_grad" : ""}`,
    line: t.line ?? null, module: t.module ?? null, width: TENSOR_W, height: TENSOR_H, tensor: t,
  };
}

function opNode(n: GraphNode): DNode {
  const width = Math.max(OP_W, 18 + 8 * n.label.length);
  return {
    id: n.id, kind: "op", sub: n.kind, label: n.label, title: `${n.name}${n.op ? ` (${n.op})` : ""}`,
    line: n.line ?? null, module: n.module ?? null, width, height: OP_H, node: n,
  };
}

/** Which tensor receives the gradient a Node sends along next_functions[i]. */
export function gradTargets(trace: Trace): Map<string, (string | null)[]> {
  const byOutput = new Map<string, string>();
  for (const t of trace.tensors) if (t.grad_fn) byOutput.set(`${t.grad_fn}:${t.output_nr ?? 0}`, t.id);
  const nodes = new Map(trace.nodes.map((n) => [n.id, n]));
  const out = new Map<string, (string | null)[]>();
  for (const n of trace.nodes) {
    out.set(n.id, n.next.map((nf) => {
      if (!nf.node) return null;
      const target = nodes.get(nf.node);
      if (target?.kind === "accumulate") return target.variable ?? null;
      return byOutput.get(`${nf.node}:${nf.input_nr}`) ?? null;
    }));
  }
  return out;
}

function flowGraph(trace: Trace, scalar: string): { nodes: DNode[]; edges: DEdge[] } {
  const nodes: DNode[] = [];
  const edges: DEdge[] = [];
  const present = new Set<string>();
  const seen = new Set<string>();
  const edge = (src: string, dst: string, cut: boolean, label?: string) => {
    const id = `${src}>${dst}`;
    if (seen.has(id) || !present.has(src) || !present.has(dst) || src === dst) return;
    seen.add(id);
    edges.push({ id, src, dst, cut, label });
  };
  for (const t of trace.tensors) { nodes.push(tensorNode(t, scalar)); present.add(t.id); }
  const targets = gradTargets(trace);
  for (const n of trace.nodes) {
    if (n.kind === "accumulate") continue;
    nodes.push(opNode(n));
    present.add(n.id);
  }
  for (const n of trace.nodes) {
    if (n.kind === "accumulate") continue;
    const inputs = new Set<string>();
    for (const t of n.inputs ?? []) if (t) inputs.add(t);
    for (const t of targets.get(n.id) ?? []) if (t) inputs.add(t);
    for (const t of inputs) edge(t, n.id, false);
    for (const t of n.outputs ?? []) edge(n.id, t, false);
  }
  for (const e of trace.edges) {
    if (e.kind !== "flow") continue;
    if (e.node && present.has(e.node)) continue;
    edge(e.src, e.dst, Boolean(e.cut), e.op ?? undefined);
  }
  return { nodes, edges };
}

function gradFnGraph(trace: Trace, scalar: string): { nodes: DNode[]; edges: DEdge[] } {
  const tensors = new Map(trace.tensors.map((t) => [t.id, t]));
  const nodes: DNode[] = trace.nodes.map((n) => {
    const d = opNode(n);
    if (n.kind === "accumulate" && n.variable) {
      const v = tensors.get(n.variable);
      d.label = `AccumulateGrad ${v ? tensorLabel(v, scalar) : ""}`.trim();
    } else {
      d.label = n.name;
    }
    // 12px semi-bold letters, the pill's padding and border: room for the whole name.
    d.width = Math.max(OP_W, 24 + 8 * d.label.length);
    return d;
  });
  const edges: DEdge[] = [];
  for (const n of trace.nodes) {
    n.next.forEach((nf, i) => {
      if (nf.node) edges.push({ id: `${n.id}>${nf.node}:${i}`, src: n.id, dst: nf.node, cut: false, label: String(nf.input_nr) });
    });
  }
  return { nodes, edges };
}

/** Collapse every module (nn.Module) into one box when the graph is big. */
/** The outermost of ``modules`` that is ``name`` or contains it ("encoder" contains
 * "encoder.0.lin"): one lookup per dot, not one comparison per module. */
export function collapsedModule(name: string | null | undefined, modules: Set<string>): string | null {
  if (!name) return null;
  for (let dot = name.indexOf("."); dot !== -1; dot = name.indexOf(".", dot + 1)) {
    const prefix = name.slice(0, dot);
    if (modules.has(prefix)) return prefix;
  }
  return modules.has(name) ? name : null;
}

function collapse(nodes: DNode[], edges: DEdge[], modules: Set<string>): { nodes: DNode[]; edges: DEdge[]; owner: Map<string, string> } {
  const owner = new Map<string, string>();
  const groups = new Map<string, DNode>();
  const out: DNode[] = [];
  for (const n of nodes) {
    const key = collapsedModule(n.module, modules);
    if (key) {
      const id = `module:${key}`;
      let g = groups.get(id);
      if (!g) {
        g = { id, kind: "op", sub: "module", label: key, title: key, line: n.line, module: key, width: Math.max(90, 16 + 8 * key.length), height: 40, members: [] };
        groups.set(id, g);
        out.push(g);
      }
      g.members!.push(n.id);
      owner.set(n.id, id);
    } else {
      out.push(n);
      owner.set(n.id, n.id);
    }
  }
  const seen = new Set<string>();
  const outEdges: DEdge[] = [];
  for (const e of edges) {
    const src = owner.get(e.src) ?? e.src;
    const dst = owner.get(e.dst) ?? e.dst;
    const id = `${src}>${dst}`;
    if (src === dst || seen.has(id)) continue;
    seen.add(id);
    outEdges.push({ ...e, id, src, dst });
  }
  return { nodes: out, edges: outEdges, owner };
}

/** Module names to collapse: top-level modules when the graph has more than ``threshold`` nodes. */
export function defaultCollapsed(trace: Trace, threshold = 1500): Set<string> {
  if (trace.tensors.length + trace.nodes.length <= threshold) return new Set();
  const names = new Set<string>();
  for (const item of [...trace.tensors, ...trace.nodes]) {
    const m = item.module;
    if (!m) continue;
    const parts = m.split(".");
    names.add(parts.length > 1 ? parts.slice(0, 2).join(".") : parts[0]);
  }
  return names;
}

/** The graph of one view; ``scalar`` is the word that labels an unnamed 0-dim tensor. */
export function buildGraph(trace: Trace, view: View, collapsed: Set<string> = new Set(), scalar = "scalar"): DGraph {
  const base = view === "flow" ? flowGraph(trace, scalar) : gradFnGraph(trace, scalar);
  const { nodes, edges, owner } = collapsed.size
    ? collapse(base.nodes, base.edges, collapsed)
    : { ...base, owner: new Map(base.nodes.map((n) => [n.id, n.id])) };
  return { nodes, edges, owner, byId: new Map(nodes.map((n) => [n.id, n])) };
}
