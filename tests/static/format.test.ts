// Values as text: complex tensors are written as Python writes them, with both parts.
import assert from "node:assert/strict";
import { test } from "node:test";
import { cnum, entry, short } from "../../static/src/format.ts";
import type { Value } from "../../static/src/types.ts";

test("complex numbers read as a+bj and a-bj", () => {
  assert.equal(cnum(1, 2), "1+2j");
  assert.equal(cnum(0.5, -1), "0.5-1j");
  assert.equal(cnum(-3, 0.5), "-3+0.5j");
  assert.equal(cnum(0, "nan"), "0+nanj");
  assert.equal(cnum(1, "-inf"), "1-infj");
});

test("a complex tensor shows both parts of every element", () => {
  const z: Value = { shape: [3], dtype: "complex64", data: [1, -3, 0], imag: [2, 0.5, 0] };
  assert.equal(short(z), "[1+2j, -3+0.5j, 0+0j]");
  assert.equal(entry(z, 1), "-3+0.5j");
  const scalar: Value = { shape: [], dtype: "complex64", data: [3], imag: [4] };
  assert.equal(short(scalar), "3+4j");
});

test("a real tensor is unchanged", () => {
  const v: Value = { shape: [2], dtype: "float32", data: [1.5, "nan"] };
  assert.equal(short(v), "[1.5, nan]");
});
