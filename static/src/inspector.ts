// The inspector: everything about the selected node at the current step, as text.
import { el } from "./dom.ts";
import { t } from "./i18n.ts";
import { ruleText } from "./rules.ts";
import { valueView } from "./valueview.ts";
import type { Frame } from "./playback.ts";
import type { GraphNode, TensorInfo, Trace, Value } from "./types.ts";

export class Inspector {
  readonly root: HTMLElement;
  private tensors = new Map<string, TensorInfo>();
  private nodes = new Map<string, GraphNode>();
  private trace: Trace | null = null;

  constructor() {
    this.root = el("section", { class: "inspector" });
  }

  setTrace(trace: Trace): void {
    this.trace = trace;
    this.tensors = new Map(trace.tensors.map((x) => [x.id, x]));
    this.nodes = new Map(trace.nodes.map((x) => [x.id, x]));
  }

  show(id: string | null, frame: Frame | null): void {
    this.root.replaceChildren(el("h2", {}, t("inspector")));
    if (!id || !this.trace) {
      this.root.append(el("p", { class: "muted" }, t("noSelection")));
      return;
    }
    const tensor = this.tensors.get(id);
    if (tensor) this.showTensor(tensor, frame);
    const node = this.nodes.get(id);
    if (node) this.showNode(node, frame);
    if (!tensor && !node && id.startsWith("module:")) this.root.append(el("h3", {}, id.slice(7)));
  }

  private field(name: string, value: Node | string): HTMLElement {
    return el("div", { class: "field" }, el("span", { class: "field__name" }, name), el("span", { class: "field__value" }, value));
  }

  private showTensor(x: TensorInfo, frame: Frame | null): void {
    const fn = x.grad_fn ? this.nodes.get(x.grad_fn)?.name ?? x.grad_fn : "None";
    this.root.append(
      el("h3", { class: "inspector__title" }, x.name ?? x.id),
      this.field(t("shape"), x.shape.length ? `[${x.shape.join(", ")}]` : t("scalarShape")),
      this.field(t("dtype"), x.dtype),
      this.field(t("requiresGrad"), x.requires_grad ? "True" : "False"),
      this.field(t("isLeaf"), x.is_leaf ? "True" : "False"),
      this.field(t("gradFn"), fn),
    );
    if (x.line) this.root.append(this.field(t("line"), String(x.line)));
    if (x.cut) this.root.append(this.field(t("fieldCut"), x.cut));
    const value = frame?.value.get(x.id) ?? (frame ? undefined : x.value);
    this.root.append(el("h4", {}, t("value")), valueView(value ?? x.value ?? null));
    const acc = frame?.accumulation.get(x.id);
    const grad = frame?.grad.get(x.id);
    const flowing = !x.is_leaf && !x.retains_grad;
    this.root.append(el("h4", {}, t(flowing ? "gradFlowing" : "grad")));
    if (flowing) this.root.append(el("p", { class: "inspector__note" }, t("gradFlowingNote")));
    if (acc && frame?.event?.kind === "accumulate" && frame.event.tensor === x.id) {
      this.root.append(
        el("div", { class: "accumulate" },
          el("div", {}, el("span", { class: "field__name" }, t("before")), valueView(acc.before)),
          el("div", {}, el("span", { class: "field__name" }, "+ " + t("delta")), valueView(acc.delta)),
          el("div", {}, el("span", { class: "field__name" }, "= " + t("after")), valueView(acc.after))));
    } else {
      this.root.append(valueView(grad ?? null));
    }
  }

  private lastNodeEvent(id: string, frame: Frame | null): { outs: (Value | null)[]; ins: (Value | null)[] } | null {
    if (!this.trace || !frame) return null;
    for (let i = frame.step; i >= 0; i--) {
      const e = this.trace.events[i];
      if (e.kind === "node" && e.node === id) return { outs: (e.grad_outputs as (Value | null)[]) ?? [], ins: (e.grad_inputs as (Value | null)[]) ?? [] };
      if (e.kind === "backward" && i < frame.step) break;
    }
    return null;
  }

  private showNode(n: GraphNode, frame: Frame | null): void {
    this.root.append(el("h3", { class: "inspector__title" }, n.name));
    if (n.op) this.root.append(this.field(t("fieldOp"), n.op));
    if (n.line) this.root.append(this.field(t("line"), String(n.line)));
    if (n.module) this.root.append(this.field(t("fieldModule"), n.module));
    const rule = ruleText(n.rule);
    if (rule) {
      this.root.append(el("h4", {}, t("rule")), el("p", { class: "rule__symbol" }, rule.symbol), el("p", { class: "rule__words" }, rule.words));
    }
    if (n.saved?.length) {
      const list = el("ul", { class: "saved" });
      for (const s of n.saved) {
        const target = s.tensor ? this.tensors.get(s.tensor) : undefined;
        const item = el("li", {}, el("code", {}, s.name), " = ");
        if (target) item.append(target.name ?? target.id);
        else if (s.value) item.append(valueView(s.value)); // saved by autograd only (a batch norm's mean)
        else if (s.scalar !== undefined && s.scalar !== null) item.append(String(s.scalar));
        else item.append("None"); // saved as None (an optional argument not given)
        list.append(item);
      }
      this.root.append(el("h4", {}, t("saved")), list);
    }
    const step = this.lastNodeEvent(n.id, frame);
    if (step) {
      const names = n.next.map((nf) => (nf.node ? this.nodes.get(nf.node)?.name ?? nf.node : "None"));
      const box = el("div", { class: "vjp" }, el("h4", {}, t("thisStep")));
      step.outs.forEach((g, i) => box.append(el("div", { class: "vjp__row" }, el("span", { class: "field__name" }, `∂L/∂out[${i}]`), valueView(g))));
      step.ins.forEach((g, i) => box.append(el("div", { class: "vjp__row" }, el("span", { class: "field__name" }, `→ ${names[i] ?? i}`), valueView(g))));
      this.root.append(box);
    }
  }
}
