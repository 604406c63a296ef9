// What the page shows at step k: the Trace's events 0..k folded into one frame (pure).
import { gradTargets } from "./model.ts";
import type { GraphNode, Trace, TraceEvent, Value } from "./types.ts";

export interface Accumulation { before: Value | null; delta: Value | null; after: Value | null }

export interface Frame {
  step: number;
  value: Map<string, Value>;
  grad: Map<string, Value | null>;
  accumulation: Map<string, Accumulation>;
  state: Map<string, string>;
  activeEdges: Set<string>;
  /** Everything printed so far, as a terminal shows it (stdout and stderr in order). */
  stdout: string;
  /** Where in ``stdout`` each stderr write starts and ends. */
  stderr: [number, number][];
  errorLine: number | null;
  errorNode: string | null;
  iteration: number | null;
  phase: "forward" | "backward";
  event: TraceEvent | null;
}

export class Player {
  readonly trace: Trace;
  private readonly nodes: Map<string, GraphNode>;
  private readonly outputNr: Map<string, number>;
  private readonly targets: Map<string, (string | null)[]>;
  private frame: Frame;

  constructor(trace: Trace) {
    this.trace = trace;
    this.nodes = new Map(trace.nodes.map((n) => [n.id, n]));
    this.outputNr = new Map(trace.tensors.map((x) => [x.id, x.output_nr ?? 0]));
    this.targets = gradTargets(trace);
    this.frame = this.empty();
  }

  get length(): number {
    return this.trace.events.length;
  }

  private empty(): Frame {
    const state = new Map<string, string>();
    const value = new Map<string, Value>();
    for (const t of this.trace.tensors) {
      state.set(t.id, "idle");
      // Tensors made before any recorded op (parameters) exist from the start.
      if (t.first_event == null && t.value) {
        value.set(t.id, t.value);
        state.set(t.id, "computed");
      }
    }
    for (const n of this.trace.nodes) state.set(n.id, "idle");
    return {
      step: -1, value, grad: new Map(), accumulation: new Map(), state, activeEdges: new Set(), stdout: "", stderr: [],
      errorLine: null, errorNode: null, iteration: null, phase: "forward", event: null,
    };
  }

  /** The frame after event ``step`` (-1: before the first event). */
  at(step: number): Frame {
    const target = Math.max(-1, Math.min(step, this.length - 1));
    if (target < this.frame.step) this.frame = this.empty();
    while (this.frame.step < target) this.apply(this.trace.events[this.frame.step + 1]);
    return this.frame;
  }

  private print(text: string, stderr: boolean): void {
    const f = this.frame;
    if (stderr) {
      const last = f.stderr[f.stderr.length - 1];
      if (last && last[1] === f.stdout.length) last[1] += text.length; // one span for a run of writes
      else f.stderr.push([f.stdout.length, f.stdout.length + text.length]);
    }
    f.stdout += text;
  }

  private settle(): void {
    const f = this.frame;
    for (const [id, s] of f.state) {
      if (s === "active") f.state.set(id, "computed");
      else if (s === "grad-active") f.state.set(id, "grad-done");
    }
    f.activeEdges.clear();
  }

  private apply(e: TraceEvent): void {
    const f = this.frame;
    this.settle();
    f.step = e.seq;
    f.event = e;
    if (e.iteration != null) f.iteration = e.iteration;
    switch (e.kind) {
      case "op": {
        f.phase = "forward";
        const outputs = (e.outputs as string[]) ?? [];
        const values = (e.values as Value[]) ?? [];
        outputs.forEach((id, i) => {
          if (values[i]) f.value.set(id, values[i]);
          f.state.set(id, "active");
        });
        const node = e.node as string | null;
        if (node) {
          f.state.set(node, "active");
          for (const src of (e.inputs as (string | null)[]) ?? []) if (src) f.activeEdges.add(`${src}>${node}`);
          for (const dst of outputs) f.activeEdges.add(`${node}>${dst}`);
        } else {
          for (const src of (e.inputs as (string | null)[]) ?? []) for (const dst of outputs) if (src) f.activeEdges.add(`${src}>${dst}`);
        }
        break;
      }
      case "backward": {
        f.phase = "backward";
        for (const n of this.trace.nodes) if (f.state.get(n.id) === "grad-done") f.state.set(n.id, "computed");
        const roots = (e.roots as string[]) ?? [];
        const seeds = (e.seeds as Value[]) ?? [];
        roots.forEach((id, i) => {
          f.state.set(id, "grad-active");
          if (seeds[i]) f.grad.set(id, seeds[i]);
        });
        break;
      }
      case "node": {
        const id = e.node as string;
        const node = this.nodes.get(id);
        f.state.set(id, "grad-active");
        const outs = (e.grad_outputs as (Value | null)[]) ?? [];
        for (const t of node?.outputs ?? []) {
          const g = outs[this.outputNr.get(t) ?? 0];
          if (g) f.grad.set(t, g);
          f.activeEdges.add(`${id}>${t}`);
          f.activeEdges.add(`${t}>${id}`);
        }
        (this.targets.get(id) ?? []).forEach((t) => {
          if (t) f.activeEdges.add(`${t}>${id}`);
        });
        node?.next.forEach((nf) => nf.node && f.activeEdges.add(`${id}>${nf.node}`));
        break;
      }
      case "accumulate": {
        const id = e.tensor as string;
        const acc = { before: (e.before as Value) ?? null, delta: (e.delta as Value) ?? null, after: (e.after as Value) ?? null };
        f.accumulation.set(id, acc);
        if (acc.after) f.grad.set(id, acc.after);
        f.state.set(id, "grad-active");
        break;
      }
      case "backward_end": {
        // torch.autograd.grad's results: a loop's later calls give the same tensors new values.
        const grads = (e.grads as (Value | null)[]) ?? [];
        ((e.results as (string | null)[]) ?? []).forEach((id, i) => {
          if (id && grads[i]) f.value.set(id, grads[i]);
        });
        break;
      }
      case "retain_grad": {
        const id = e.tensor as string;
        f.grad.set(id, (e.grad as Value) ?? null);
        f.state.set(id, "grad-active");
        break;
      }
      case "zero_grad": {
        const before = (e.before as (Value | null)[]) ?? [];
        ((e.tensors as string[]) ?? []).forEach((id, i) => {
          const old = before[i];
          const emptied = e.how === "none" || !old ? null : zeros(old);
          f.grad.set(id, emptied);
          f.accumulation.delete(id);
          f.state.set(id, "active");
        });
        break;
      }
      case "grad_set": {
        const id = e.tensor as string;
        f.grad.set(id, (e.after as Value) ?? null);
        f.state.set(id, "active");
        break;
      }
      case "update": {
        const id = e.tensor as string;
        if (e.after) f.value.set(id, e.after as Value);
        f.state.set(id, "active");
        break;
      }
      case "optimizer": {
        for (const p of (e.params as { tensor: string; after?: Value }[]) ?? []) {
          if (p.after) f.value.set(p.tensor, p.after);
          f.state.set(p.tensor, "active");
        }
        break;
      }
      case "clip": {
        const after = (e.after as (Value | null)[]) ?? [];
        ((e.tensors as string[]) ?? []).forEach((id, i) => {
          f.grad.set(id, after[i] ?? null);
          f.state.set(id, "active");
        });
        break;
      }
      case "print":
        this.print(String(e.text ?? ""), e.stream === "stderr");
        break;
      case "skipped":
        // What the left-out iterations printed is still part of the output.
        for (const part of (e.output as { text: string; stream?: string }[]) ?? []) this.print(part.text, part.stream === "stderr");
        break;
      case "anomaly": {
        const id = (e.node as string) ?? (e.tensor as string);
        if (id) f.state.set(id, "nan");
        break;
      }
      case "hook": {
        const id = e.tensor as string;
        if (id) f.state.set(id, "grad-active");
        break;
      }
      case "error": {
        f.errorLine = (e.line as number) ?? null;
        f.errorNode = (e.node as string) ?? null;
        if (f.errorNode) f.state.set(f.errorNode, "error");
        break;
      }
      default:
        break;
    }
  }
}

function zeros(v: Value): Value {
  if (v.data) return { ...v, data: v.data.map(() => 0), imag: v.imag?.map(() => 0) };
  return { shape: v.shape, dtype: v.dtype, stats: { min: 0, max: 0, mean: 0, std: 0 } };
}

/** Steps at which each kind of marker sits on the timeline. */
export function markers(trace: Trace): { backward: number[]; iteration: number[]; error: number[] } {
  const out = { backward: [] as number[], iteration: [] as number[], error: [] as number[] };
  for (const e of trace.events) {
    if (e.kind === "backward") out.backward.push(e.seq);
    else if (e.kind === "iteration") out.iteration.push(e.seq);
    else if (e.kind === "error" || e.kind === "anomaly") out.error.push(e.seq);
  }
  return out;
}
