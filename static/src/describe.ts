// One sentence about what happens at the current step.
import { short } from "./format.ts";
import { hasKey, t } from "./i18n.ts";
import type { Trace, TraceEvent, Value } from "./types.ts";

export function describe(e: TraceEvent | null, trace: Trace): string {
  if (!e) return t("start");
  // An unnamed tensor is told by the op that made it, never by its internal id ("t15").
  const name = (id: unknown, plain = false) => {
    const x = trace.tensors.find((tt) => tt.id === id);
    if (!x) return String(id ?? "");
    if (x.name) return x.name;
    const op = !plain && x.grad_fn ? trace.nodes.find((n) => n.id === x.grad_fn)?.op : null;
    return op ? t("resultOf", { op }) : t("aTensor");
  };
  const node = (id: unknown) => trace.nodes.find((n) => n.id === id)?.name ?? String(id ?? "");
  const list = (vs: unknown) => ((vs as (Value | null)[]) ?? []).map((v) => short(v)).join(", ");
  switch (e.kind) {
    case "op": return t("nowForward", { op: String(e.op), name: ((e.outputs as string[]) ?? []).map((id) => name(id, true)).join(", ") });
    case "backward": return t("nowBackward", { name: ((e.roots as string[]) ?? []).map((id) => name(id)).join(", "), seed: list(e.seeds) || "1" });
    case "node": return t("nowNode", { node: node(e.node), out: list(e.grad_outputs), ins: list(e.grad_inputs) });
    case "accumulate":
      // Without a delta the gradient was filled by a backward run inside a Node (a reentrant
      // checkpoint): only what .grad became is known.
      return e.delta
        ? t("nowAccumulate", { name: name(e.tensor), before: short(e.before as Value), delta: short(e.delta as Value), after: short(e.after as Value) })
        : t("nowAccumulateFilled", { name: name(e.tensor), after: short(e.after as Value) });
    case "zero_grad": return t("nowZero", { via: String(e.via ?? "") });
    case "optimizer": return t("nowOptimizer", { opt: String(e.name ?? e.optimizer) });
    case "update": return t("nowUpdate", { name: name(e.tensor), op: String(e.op) });
    case "print": return t("nowPrintText", { text: String(e.text ?? "").trimEnd().slice(0, 80) });
    case "error": return e.message ? t("nowError", { type: String(e.type), message: String(e.message).slice(0, 120) }) : String(e.type);
    case "anomaly": {
      const phase = `phase_${String(e.phase)}`;
      return t("nowAnomaly", { what: String(e.what), phase: hasKey(phase) ? t(phase) : String(e.phase) });
    }
    case "hook": return t("nowHook", { name: name(e.tensor) });
    case "iteration": return t("nowIteration", { i: Number(e.index ?? 0) }); // 0 is left out of the Trace
    case "clip":
      return e.how === "value"
        ? t("nowClipValue", { value: String(e.clip_value) })
        : t("nowClip", { norm: String(e.total_norm) });
    case "retain_grad": return t("nowRetain", { name: name(e.tensor) });
    case "backward_end": return t(e.failed ? "nowBackwardFailed" : "nowBackwardEnd");
    case "warning": return t("nowWarning", { message: String(e.message).slice(0, 100) });
    case "skipped":
      return e.loop_line == null
        ? t("nowSkipped", { a: Number(e.first), b: Number(e.last) })
        : t("nowSkippedSteps", { a: Number(e.first), b: Number(e.last), line: Number(e.loop_line) });
    case "plot": return t("nowPlot");
    case "grad_set": return t("nowGradSet", { name: name(e.tensor) });
    default: return e.kind;
  }
}
