// The code editor (CodeMirror 6, Python), with lines that light up for the graph and for errors.
import { Compartment, EditorState, StateEffect, StateField, type Extension, type Range } from "@codemirror/state";
import { Decoration, EditorView, keymap, lineNumbers, highlightActiveLine, type DecorationSet } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { python } from "@codemirror/lang-python";
import { syntaxHighlighting, defaultHighlightStyle, bracketMatching, indentOnInput, HighlightStyle } from "@codemirror/language";
import { el } from "./dom.ts";
import { t } from "./i18n.ts";

/** CodeMirror's light colours, swapped for ones that reach 4.5:1 on the dark theme's background. */
const DARK_COLOURS: Record<string, string> = {
  "#708": "#d7a6ff", "#219": "#9fb4ff", "#164": "#7ee0a8", "#a11": "#ff9e9e", "#00f": "#8fb8ff",
  "#30a": "#b9a6ff", "#e40": "#ffab70", "#085": "#6fd6c0", "#256": "#8ccfe6", "#00c": "#9db2ff",
  "#940": "#e8b36a", "#f00": "#ff8080", "#404740": "#b8c0b8", "#167": "#79d3e0",
};
/** The three of CodeMirror's light colours under 4.5:1 on white or on a marked line (escapes
 * and f-string braces, module names, invalid text), darkened until they reach it. */
const LIGHT_COLOURS: Record<string, string> = { "#e40": "#a52d00", "#085": "#006b47", "#f00": "#b00000" };
const recoloured = (colours: Record<string, string>) =>
  HighlightStyle.define(
    defaultHighlightStyle.specs.map((spec) => ({ ...spec, color: spec.color ? (colours[String(spec.color)] ?? spec.color) : spec.color })),
  );
const lightHighlightStyle = recoloured(LIGHT_COLOURS);
const darkHighlightStyle = recoloured(DARK_COLOURS);

const setMarks = StateEffect.define<{ focus: number | null; error: number | null; hover: number | null }>();

const marks = StateField.define<DecorationSet>({
  create: () => Decoration.none,
  update(value, tr) {
    value = value.map(tr.changes);
    for (const effect of tr.effects) {
      if (!effect.is(setMarks)) continue;
      const ranges: Range<Decoration>[] = [];
      const doc = tr.state.doc;
      const lineDeco = (n: number | null, cls: string) => {
        if (n !== null && n >= 1 && n <= doc.lines) ranges.push(Decoration.line({ class: cls }).range(doc.line(n).from));
      };
      const all: [number | null, string][] = [[effect.value.error, "cm-line--error"], [effect.value.focus, "cm-line--focus"], [effect.value.hover, "cm-line--hover"]];
      all.sort((a, b) => (a[0] ?? 0) - (b[0] ?? 0));
      for (const [n, cls] of all) lineDeco(n, cls);
      value = Decoration.set(ranges, true);
    }
    return value;
  },
  provide: (field) => EditorView.decorations.from(field),
});

export interface EditorCallbacks {
  onRun: () => void;
  onHoverLine: (line: number | null) => void;
  onChange?: (source: string) => void;
}

let hints = 0;

export class Editor {
  readonly view: EditorView;
  /** "Tab indents · Esc then Tab moves on": shown under the editor while it has focus, and its description. */
  readonly hint: HTMLElement;
  private readonly labels = new Compartment();
  private readonly highlight = new Compartment();
  private current = { focus: null as number | null, error: null as number | null, hover: null as number | null };

  constructor(parent: HTMLElement, source: string, readOnly: boolean, callbacks: EditorCallbacks, nonce?: string | null) {
    this.hint = el("p", { class: "editor__hint", id: `editor-hint-${++hints}` });
    this.hint.hidden = readOnly; // read-only, Tab is not taken: it moves on as anywhere else
    const runKey = { key: "Mod-Enter", run: () => { callbacks.onRun(); return true; } };
    const extensions: Extension[] = [
      lineNumbers(), history(), highlightActiveLine(), bracketMatching(), indentOnInput(),
      this.highlight.of(syntaxHighlighting(lightHighlightStyle)), python(), marks,
      keymap.of([runKey, indentWithTab, ...defaultKeymap, ...historyKeymap]),
      this.labels.of(this.attributes()),
      EditorState.readOnly.of(readOnly),
      EditorView.cspNonce.of(nonce ?? ""),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) callbacks.onChange?.(update.state.doc.toString());
        if (update.focusChanged) this.hint.classList.toggle("editor__hint--shown", update.view.hasFocus);
      }),
      EditorView.editable.of(!readOnly),
      EditorView.domEventHandlers({
        mousemove: (event, view) => {
          const pos = view.posAtCoords({ x: event.clientX, y: event.clientY });
          callbacks.onHoverLine(pos === null ? null : view.state.doc.lineAt(pos).number);
          return false;
        },
        mouseleave: () => { callbacks.onHoverLine(null); return false; },
      }),
    ];
    this.view = new EditorView({ state: EditorState.create({ doc: source, extensions }), parent });
  }

  private attributes(): Extension {
    this.hint.textContent = t("editorHint");
    const attrs: Record<string, string> = { "aria-label": t("program") };
    if (!this.hint.hidden) attrs["aria-describedby"] = this.hint.id;
    return EditorView.contentAttributes.of(attrs);
  }

  /** Name and hint in the page's language. */
  relabel(): void {
    this.view.dispatch({ effects: this.labels.reconfigure(this.attributes()) });
  }

  /** Syntax colours for the page's theme. */
  setTheme(theme: "light" | "dark"): void {
    const style = theme === "dark" ? darkHighlightStyle : lightHighlightStyle;
    this.view.dispatch({ effects: this.highlight.reconfigure(syntaxHighlighting(style)) });
  }

  get source(): string {
    return this.view.state.doc.toString();
  }

  set source(text: string) {
    this.view.dispatch({ changes: { from: 0, to: this.view.state.doc.length, insert: text } });
  }

  mark(patch: Partial<{ focus: number | null; error: number | null; hover: number | null }>): void {
    const next = { ...this.current, ...patch };
    if (next.focus === this.current.focus && next.error === this.current.error && next.hover === this.current.hover) return;
    this.current = next;
    this.view.dispatch({ effects: setMarks.of(next) });
    const line = patch.error ?? patch.focus;
    if (line && line <= this.view.state.doc.lines) {
      this.view.dispatch({ effects: EditorView.scrollIntoView(this.view.state.doc.line(line).from, { y: "nearest" }) });
    }
  }
}
