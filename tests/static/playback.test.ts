// The console's text at each step: stdout and stderr in order, stderr marked by ranges.
import assert from "node:assert/strict";
import { test } from "node:test";
import { Player } from "../../static/src/playback.ts";
import type { Trace, TraceEvent } from "../../static/src/types.ts";

function traceOf(events: Record<string, unknown>[]): Trace {
  return {
    schema_version: 1, stdout: "", error: null, tensors: [], nodes: [], edges: [],
    events: events.map((e, seq) => ({ seq, ...e }) as unknown as TraceEvent),
  };
}

test("stderr writes are marked where they fall in the output, a run of them as one range", () => {
  const player = new Player(traceOf([
    { kind: "print", text: "a\n" },
    { kind: "print", text: "warn 1\n", stream: "stderr" },
    { kind: "print", text: "warn 2\n", stream: "stderr" },
    { kind: "print", text: "b\n" },
  ]));
  const frame = player.at(3);
  assert.equal(frame.stdout, "a\nwarn 1\nwarn 2\nb\n");
  assert.deepEqual(frame.stderr, [[2, 16]]);
  assert.deepEqual(player.at(1).stderr, [[2, 9]]); // stepping back replays from the start
});

test("what left-out iterations printed is printed when the skipped event is passed", () => {
  const player = new Player(traceOf([
    { kind: "print", text: "step 0\n" },
    { kind: "skipped", first: 1, last: 8, counts: { print: 2 }, output: [{ text: "step 4\n" }, { text: "!\n", stream: "stderr" }] },
    { kind: "print", text: "step 9\n" },
  ]));
  const frame = player.at(2);
  assert.equal(frame.stdout, "step 0\nstep 4\n!\nstep 9\n");
  assert.deepEqual(frame.stderr, [[14, 16]]);
});

test("each torch.autograd.grad call in a loop gives its result tensor that call's value", () => {
  const value = (x: number) => ({ shape: [], dtype: "float32", data: [x] });
  const player = new Player(traceOf([
    { kind: "backward_end", backward: "b1", grads: [value(6)], results: ["t3"] },
    { kind: "op", op: "mul", inputs: ["t3"], outputs: ["t4"], values: [value(1.5)] },
    { kind: "backward_end", backward: "b2", grads: [value(3), null], results: ["t3", null] },
  ]));
  assert.deepEqual(player.at(1).value.get("t3"), value(6));
  assert.deepEqual(player.at(2).value.get("t3"), value(3));
});
