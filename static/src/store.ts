// All UI state in one place, mirrored in the URL fragment so every view is a link (and an embed).
import { compressToEncodedURIComponent, decompressFromEncodedURIComponent } from "lz-string";

export type View = "flow" | "grad_fn";
export type Lang = "en" | "zh-CN";
export type Theme = "light" | "dark";
export type EditorMode = "editable" | "readonly" | "hidden";

export interface State {
  lesson: string | null;
  source: string;
  step: number;
  playing: boolean;
  speed: number;
  view: View;
  lang: Lang;
  theme: Theme;
  selected: string | null;
  editor: EditorMode;
  autoplay: boolean;
}

type Listener = (state: State, changed: Set<keyof State>) => void;

const SPEEDS = [0.5, 1, 2, 4, 8, 16];
const listeners: Listener[] = [];

function remembered<T extends string>(key: string, allowed: readonly T[], fallback: T): T {
  try {
    const value = localStorage.getItem(key);
    if (value && (allowed as readonly string[]).includes(value)) return value as T;
  } catch {
    // storage may be unavailable (file://, privacy settings): use the fallback
  }
  return fallback;
}

function systemTheme(): Theme {
  return typeof matchMedia === "function" && matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export const state: State = {
  lesson: null,
  source: "",
  step: -1,
  playing: false,
  speed: 2,
  view: "flow",
  lang: remembered<Lang>("gradstage.lang", ["en", "zh-CN"], navigator.language?.startsWith("zh") ? "zh-CN" : "en"),
  theme: remembered<Theme>("gradstage.theme", ["light", "dark"], systemTheme()),
  selected: null,
  editor: "editable",
  autoplay: false,
};

export function subscribe(listener: Listener): void {
  listeners.push(listener);
}

export function update(patch: Partial<State>): void {
  const changed = new Set<keyof State>();
  for (const key of Object.keys(patch) as (keyof State)[]) {
    if (state[key] !== patch[key]) {
      (state as unknown as Record<string, unknown>)[key] = patch[key];
      changed.add(key);
    }
  }
  if (changed.size === 0) return;
  for (const listener of listeners) listener(state, changed);
  writeHash();
}

/** The reader's own choice of language or theme: applied, and remembered for their next visit. */
// A link's or an embed's lang= and theme= go through update() alone: they hold for that page only.
export function choose(patch: Pick<Partial<State>, "lang" | "theme">): void {
  update(patch);
  if (patch.lang) store("gradstage.lang", patch.lang);
  if (patch.theme) store("gradstage.theme", patch.theme);
}

function store(key: string, value: string): void {
  try {
    localStorage.setItem(key, value);
  } catch {
    // not remembered, still applied
  }
}

export function nextSpeed(direction: 1 | -1): number {
  const index = SPEEDS.indexOf(state.speed);
  return SPEEDS[Math.min(SPEEDS.length - 1, Math.max(0, (index < 0 ? 2 : index) + direction))];
}

/** The fragment for the current view; ``withCode`` puts the program in it (a permalink). */
export function toHash(withCode: boolean): string {
  const params = new URLSearchParams();
  if (state.lesson && !withCode) params.set("lesson", state.lesson);
  if (withCode) params.set("code", compressToEncodedURIComponent(state.source));
  if (state.step >= 0) params.set("step", String(state.step));
  if (state.view !== "flow") params.set("view", state.view);
  if (state.selected) params.set("node", state.selected);
  params.set("lang", state.lang);
  params.set("theme", state.theme);
  if (state.speed !== 2) params.set("speed", String(state.speed));
  return "#" + params.toString();
}

let hashCode = false;

let hashTimer: ReturnType<typeof setTimeout> | null = null;

/** Mirror the state in the URL, at most a few times a second (browsers throttle history calls). */
function writeHash(): void {
  if (hashTimer !== null) return;
  hashTimer = setTimeout(() => {
    hashTimer = null;
    const hash = toHash(hashCode);
    try {
      if (location.hash !== hash) history.replaceState(null, "", hash);
    } catch {
      // about:srcdoc frames (notebooks) have no history to write: the view still works
    }
  }, 250);
}

/** The page's language for a ?lang= / #lang= value: en, en-GB, ... or zh, zh-CN, zh-Hans, ... */
export function langOf(value: string | null | undefined): Lang | undefined {
  const lang = value?.toLowerCase();
  if (lang === "en" || lang?.startsWith("en-")) return "en";
  if (lang === "zh" || lang?.startsWith("zh-")) return "zh-CN"; // the one Chinese there is
  return undefined;
}

/** Read the fragment: view options, and a program if the link carries one. */
export function readHash(hash: string): Partial<State> {
  const params = new URLSearchParams(hash.replace(/^#/, ""));
  const patch: Partial<State> = {};
  const code = params.get("code");
  if (code !== null) {
    const source = decompressFromEncodedURIComponent(code);
    if (source !== null && source !== "") {
      patch.source = source;
      hashCode = true;
    }
  }
  const lesson = params.get("lesson");
  if (lesson) patch.lesson = lesson;
  const step = Number(params.get("step"));
  if (params.has("step") && Number.isInteger(step)) patch.step = step;
  const view = params.get("view");
  if (view === "flow" || view === "grad_fn") patch.view = view;
  const lang = langOf(params.get("lang"));
  if (lang) patch.lang = lang;
  const theme = params.get("theme");
  if (theme === "light" || theme === "dark") patch.theme = theme;
  const speed = Number(params.get("speed"));
  if (SPEEDS.includes(speed)) patch.speed = speed;
  const node = params.get("node");
  if (node) patch.selected = node;
  const editor = params.get("editor");
  if (editor === "editable" || editor === "readonly" || editor === "hidden") patch.editor = editor;
  if (params.get("autoplay") === "1" || params.get("autoplay") === "true") patch.autoplay = true;
  return patch;
}

export function keepCodeInHash(on: boolean): void {
  hashCode = on;
}
