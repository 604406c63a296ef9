// The sentence for each step (where the Trace leaves out fields at their default value), and the
// language a link asks for.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { Trace, TraceEvent } from "../../static/src/types.ts";

// The page's settings live in the browser: the smallest stand-ins, before the page's modules load.
const settings = new Map<string, string>();
Object.assign(globalThis, {
  navigator: { language: "en" },
  localStorage: { getItem: (k: string) => settings.get(k) ?? null, setItem: (k: string, v: string) => settings.set(k, v) },
});
const { describe } = await import("../../static/src/describe.ts");

const trace: Trace = {
  schema_version: 1, stdout: "", error: null, nodes: [], edges: [], events: [],
  tensors: [{ id: "t1", name: "w", shape: [2], dtype: "float32", kind: "leaf", requires_grad: true, is_leaf: true }],
} as unknown as Trace;
const event = (e: Record<string, unknown>) => ({ seq: 0, ...e }) as unknown as TraceEvent;

test("the first iteration, whose index 0 the Trace leaves out, is iteration 0", () => {
  assert.equal(describe(event({ kind: "iteration" }), trace), "iteration 0");
  assert.equal(describe(event({ kind: "iteration", index: 3 }), trace), "iteration 3");
});

test("an error without a message is named by its type alone, as Python prints it", () => {
  assert.equal(describe(event({ kind: "error", type: "KeyboardInterrupt" }), trace), "KeyboardInterrupt");
  assert.equal(describe(event({ kind: "error", type: "ValueError", message: "bad" }), trace), "ValueError: bad");
});

test("a .grad filled without a known delta says what it became", () => {
  const after = { shape: [2], dtype: "float32", data: [3, 4] };
  const text = describe(event({ kind: "accumulate", tensor: "t1", after }), trace);
  assert.match(text, /^w\.grad filled by a backward inside a node: /);
  assert.doesNotMatch(text, /None \+ None/);
});

test("a link's language may be spelt zh, zh-CN or zh-Hans, en or en-GB", async () => {
  const { langOf } = await import("../../static/src/store.ts");
  assert.equal(langOf("zh"), "zh-CN");
  assert.equal(langOf("zh-Hans"), "zh-CN");
  assert.equal(langOf("zh-CN"), "zh-CN");
  assert.equal(langOf("en-GB"), "en");
  assert.equal(langOf("fr"), undefined);
  assert.equal(langOf(null), undefined);
});
