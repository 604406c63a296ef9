// Numbers and tensors as short text.
import type { Num, Value } from "./types.ts";

export function num(x: Num | null | undefined, digits = 4): string {
  if (x === null || x === undefined) return "–";
  if (typeof x === "string") return x;
  if (Number.isInteger(x) && Math.abs(x) < 1e6) return String(x);
  const a = Math.abs(x);
  if (a !== 0 && (a < 1e-3 || a >= 1e5)) return x.toExponential(2);
  return String(Number(x.toPrecision(digits)));
}

/** A complex number as Python writes it: 1+2j, 0.5-1j. */
export function cnum(re: Num, im: Num, digits = 4): string {
  const negative = typeof im === "number" ? im < 0 || Object.is(im, -0) : im === "-inf";
  const size = typeof im === "number" ? Math.abs(im) : im.replace("-", "");
  return `${num(re, digits)}${negative ? "-" : "+"}${num(size as Num, digits)}j`;
}

/** The i-th element of a whole value as text (complex ones as a+bj). */
export function entry(v: Value, i: number, digits = 4): string {
  const re = v.data?.[i] ?? "nan";
  return v.imag ? cnum(re, v.imag[i] ?? 0, digits) : num(re, digits);
}

/** One line: a scalar as a number, a short vector in brackets, anything else as its shape. */
export function short(v: Value | null | undefined): string {
  if (!v) return "None";
  if (v.data) {
    if (v.shape.length === 0) return entry(v, 0);
    if (v.data.length <= 4) return `[${v.data.map((_, i) => entry(v, i, 3)).join(", ")}]`;
    return `[${v.shape.join("×")}] ${entry(v, 0, 3)}, ${entry(v, 1, 3)}…`;
  }
  const s = v.stats;
  if (!s) return `[${v.shape.join("×")}]`;
  return `[${v.shape.join("×")}] μ=${num(s.mean, 3)}`;
}

export function isFiniteNum(x: Num): x is number {
  return typeof x === "number" && Number.isFinite(x);
}
