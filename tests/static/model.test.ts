// Collapsing modules: each node goes to the outermost collapsed module that contains it.
import { test } from "node:test";
import assert from "node:assert/strict";
import { collapsedModule, tensorLabel } from "../../static/src/model.ts";

test("a node belongs to the outermost collapsed module containing it", () => {
  const modules = new Set(["encoder", "encoder.0", "head"]);
  assert.equal(collapsedModule("encoder.0.lin", modules), "encoder");
  assert.equal(collapsedModule("encoder", modules), "encoder");
  assert.equal(collapsedModule("head", modules), "head");
  assert.equal(collapsedModule("head.1", modules), "head");
});

test("names that only share a prefix of characters are not contained", () => {
  const modules = new Set(["enc", "1"]);
  assert.equal(collapsedModule("encoder.0", modules), null);
  assert.equal(collapsedModule("12", modules), null);
  assert.equal(collapsedModule("1.weight", modules), "1");
  assert.equal(collapsedModule(null, modules), null);
  assert.equal(collapsedModule("", modules), null);
});

test("among thousands of numbered modules each node finds its own", () => {
  const modules = new Set(Array.from({ length: 5000 }, (_, i) => String(i)));
  for (let i = 0; i < 5000; i++) {
    assert.equal(collapsedModule(`${i}.lin.weight`, modules), String(i));
    assert.equal(collapsedModule(`x${i}`, modules), null);
  }
});

test("an unnamed tensor is labelled by its shape, a 0-dim one as a scalar (never by its id)", () => {
  const base = { id: "t7", dtype: "float32", kind: "nonleaf", requires_grad: true, is_leaf: false } as const;
  assert.equal(tensorLabel({ ...base, shape: [2, 3] }), "[2×3]");
  assert.equal(tensorLabel({ ...base, shape: [] }), "scalar");
  assert.equal(tensorLabel({ ...base, shape: [], name: "loss" }), "loss");
  assert.equal(tensorLabel({ ...base, shape: [] }, "标量"), "标量");
});
