// The code editor (CodeMirror 6, Python), with lines that light up for the graph and for errors.
import { EditorState, StateEffect, StateField, type Extension, type Range } from "@codemirror/state";
import { Decoration, EditorView, keymap, lineNumbers, highlightActiveLine, type DecorationSet } from "@codemirror/view";
import { defaultKeymap, history, historyKeymap, indentWithTab } from "@codemirror/commands";
import { python } from "@codemirror/lang-python";
import { syntaxHighlighting, defaultHighlightStyle, bracketMatching, indentOnInput } from "@codemirror/language";

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

export class Editor {
  readonly view: EditorView;
  private current = { focus: null as number | null, error: null as number | null, hover: null as number | null };

  constructor(parent: HTMLElement, source: string, readOnly: boolean, callbacks: EditorCallbacks, nonce?: string | null) {
    const runKey = { key: "Mod-Enter", run: () => { callbacks.onRun(); return true; } };
    const extensions: Extension[] = [
      lineNumbers(), history(), highlightActiveLine(), bracketMatching(), indentOnInput(),
      syntaxHighlighting(defaultHighlightStyle), python(), marks,
      keymap.of([runKey, indentWithTab, ...defaultKeymap, ...historyKeymap]),
      EditorView.contentAttributes.of({ "aria-label": "Program" }),
      EditorState.readOnly.of(readOnly),
      EditorView.cspNonce.of(nonce ?? ""),
      EditorView.updateListener.of((update) => {
        if (update.docChanged) callbacks.onChange?.(update.state.doc.toString());
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
