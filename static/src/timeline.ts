// The player's controls and the scrubbable timeline with a tick per event.
import { button, el } from "./dom.ts";
import { t } from "./i18n.ts";
import { markers } from "./playback.ts";
import { nextSpeed, state, update } from "./store.ts";
import type { Trace } from "./types.ts";

const SVG_NS = "http://www.w3.org/2000/svg";

export class Timeline {
  readonly root: HTMLElement;
  private readonly play: HTMLButtonElement;
  private readonly back: HTMLButtonElement;
  private readonly forward: HTMLButtonElement;
  private readonly restart: HTMLButtonElement;
  private readonly speed: HTMLSelectElement;
  private readonly range: HTMLInputElement;
  private readonly ticks: SVGSVGElement;
  private readonly position: HTMLElement;
  private readonly now: HTMLElement;
  private length = 0;

  constructor() {
    this.restart = button(t("restart"), "btn btn--icon", () => update({ step: -1, playing: false }), "Home");
    this.back = button(t("stepBack"), "btn btn--icon", () => this.stepBy(-1), "←");
    this.play = button(t("play"), "btn btn--primary btn--play", () => this.toggle(), "Space");
    this.forward = button(t("stepForward"), "btn btn--icon", () => this.stepBy(1), "→");
    this.speed = el("select", { class: "speed", "aria-label": t("speed") });
    for (const s of [0.5, 1, 2, 4, 8, 16]) this.speed.append(el("option", { value: String(s) }, `${s}×`));
    this.speed.addEventListener("change", () => update({ speed: Number(this.speed.value) }));
    this.range = el("input", { type: "range", min: "-1", max: "0", value: "-1", class: "scrub", "aria-label": "timeline" });
    this.range.addEventListener("input", () => update({ step: Number(this.range.value), playing: false }));
    this.ticks = document.createElementNS(SVG_NS, "svg");
    this.ticks.setAttribute("class", "ticks");
    this.ticks.setAttribute("preserveAspectRatio", "none");
    this.ticks.setAttribute("aria-hidden", "true");
    this.position = el("span", { class: "position" });
    this.now = el("p", { class: "now", "aria-live": "polite" });
    this.root = el("section", { class: "timeline" },
      el("div", { class: "timeline__controls" }, this.restart, this.back, this.play, this.forward, this.speed, this.position),
      el("div", { class: "timeline__track" }, this.ticks, this.range),
      this.now);
  }

  private stepBy(delta: number): void {
    update({ step: Math.max(-1, Math.min(this.length - 1, state.step + delta)), playing: false });
  }

  private toggle(): void {
    if (state.playing) update({ playing: false });
    else update({ playing: true, step: state.step >= this.length - 1 ? -1 : state.step });
  }

  /** Keyboard: space plays/pauses, arrows step, Home restarts, End jumps to the end. */
  handleKey(event: KeyboardEvent): boolean {
    if (event.key === " ") this.toggle();
    else if (event.key === "ArrowRight") this.stepBy(1);
    else if (event.key === "ArrowLeft") this.stepBy(-1);
    else if (event.key === "Home") update({ step: -1, playing: false });
    else if (event.key === "End") update({ step: this.length - 1, playing: false });
    else if (event.key === "+" || event.key === "=") update({ speed: nextSpeed(1) });
    else if (event.key === "-") update({ speed: nextSpeed(-1) });
    else return false;
    return true;
  }

  setTrace(trace: Trace | null): void {
    this.length = trace?.events.length ?? 0;
    this.range.max = String(Math.max(0, this.length - 1));
    this.ticks.replaceChildren();
    if (!trace || !this.length) return;
    this.ticks.setAttribute("viewBox", `0 0 ${this.length} 10`);
    const frag = document.createDocumentFragment();
    for (const e of trace.events) {
      const tick = document.createElementNS(SVG_NS, "rect");
      tick.setAttribute("x", String(e.seq));
      tick.setAttribute("y", "3");
      tick.setAttribute("width", "1");
      tick.setAttribute("height", "7");
      tick.setAttribute("class", `tick tick--${e.kind}`);
      frag.append(tick);
    }
    const m = markers(trace);
    for (const [kind, steps] of Object.entries(m)) {
      for (const s of steps) {
        const mark = document.createElementNS(SVG_NS, "rect");
        mark.setAttribute("x", String(s));
        mark.setAttribute("y", "0");
        mark.setAttribute("width", String(Math.max(1, this.length / 300)));
        mark.setAttribute("height", "10");
        mark.setAttribute("class", `marker marker--${kind}`);
        frag.append(mark);
      }
    }
    this.ticks.append(frag);
  }

  show(description: string): void {
    this.range.value = String(state.step);
    this.speed.value = String(state.speed);
    const label = state.playing ? t("pause") : t("play");
    this.play.textContent = label;
    this.play.setAttribute("aria-label", label);
    this.position.textContent = state.step < 0 ? t("start") : t("stepOf", { i: state.step + 1, n: this.length });
    this.now.textContent = description;
    this.back.disabled = state.step < 0;
    this.forward.disabled = state.step >= this.length - 1;
  }

  relabel(): void {
    for (const [b, key] of [[this.restart, "restart"], [this.back, "stepBack"], [this.forward, "stepForward"]] as const) {
      b.textContent = t(key);
      b.setAttribute("aria-label", t(key));
    }
    this.speed.setAttribute("aria-label", t("speed"));
  }
}
