// The local derivative of each kind of Node, in words and symbols (the page's chain rule).
import { state } from "./store.ts";

interface Rule { symbol: string; en: string; zh: string }

export const RULES: Record<string, Rule> = {
  add: { symbol: "∂L/∂a = g,  ∂L/∂b = g", en: "Addition passes the incoming gradient g unchanged to both inputs.", zh: "加法把传入的梯度 g 原样传给两个输入。" },
  sub: { symbol: "∂L/∂a = g,  ∂L/∂b = −g", en: "Subtraction passes g to the first input and −g to the second.", zh: "减法把 g 传给第一个输入，把 −g 传给第二个输入。" },
  rsub: { symbol: "∂L/∂a = −g", en: "Subtracting from a number flips the sign of the gradient.", zh: "用一个数减去张量，梯度取反。" },
  mul: { symbol: "∂L/∂a = g · b,  ∂L/∂b = g · a", en: "Multiplication sends each input the gradient times the other input.", zh: "乘法给每个输入的梯度是 g 乘以另一个输入。" },
  div: { symbol: "∂L/∂a = g / b,  ∂L/∂b = −g · a / b²", en: "Division: g / b to the numerator, −g·a/b² to the denominator.", zh: "除法：分子得到 g / b，分母得到 −g·a/b²。" },
  pow: { symbol: "∂L/∂x = g · n · xⁿ⁻¹", en: "A power xⁿ sends back g times n·xⁿ⁻¹.", zh: "幂 xⁿ 传回 g 乘以 n·xⁿ⁻¹。" },
  neg: { symbol: "∂L/∂x = −g", en: "Negation flips the sign of the gradient.", zh: "取负会把梯度取反。" },
  exp: { symbol: "∂L/∂x = g · eˣ", en: "exp sends back g times its own output eˣ.", zh: "exp 传回 g 乘以它自己的输出 eˣ。" },
  log: { symbol: "∂L/∂x = g / x", en: "log sends back g divided by its input.", zh: "log 传回 g 除以输入。" },
  sqrt: { symbol: "∂L/∂x = g / (2√x)", en: "sqrt sends back g / (2√x): infinite when x = 0.", zh: "sqrt 传回 g / (2√x)：当 x = 0 时为无穷大。" },
  abs: { symbol: "∂L/∂x = g · sign(x)", en: "abs sends back g times the sign of x.", zh: "abs 传回 g 乘以 x 的符号。" },
  sin: { symbol: "∂L/∂x = g · cos x", en: "sin sends back g · cos x.", zh: "sin 传回 g · cos x。" },
  cos: { symbol: "∂L/∂x = −g · sin x", en: "cos sends back −g · sin x.", zh: "cos 传回 −g · sin x。" },
  tanh: { symbol: "∂L/∂x = g · (1 − tanh² x)", en: "tanh sends back g times 1 − output².", zh: "tanh 传回 g 乘以 1 − 输出²。" },
  sigmoid: { symbol: "∂L/∂x = g · σ(x)(1 − σ(x))", en: "sigmoid sends back g · σ(1 − σ).", zh: "sigmoid 传回 g · σ(1 − σ)。" },
  relu: { symbol: "∂L/∂x = g · [x > 0]", en: "ReLU lets the gradient through where the input was positive, 0 elsewhere.", zh: "ReLU 只在输入为正的位置让梯度通过，其余位置为 0。" },
  leaky_relu: { symbol: "∂L/∂x = g · (1 or slope)", en: "Leaky ReLU scales the gradient by the slope where the input was negative.", zh: "Leaky ReLU 在输入为负的位置把梯度乘以斜率。" },
  gelu: { symbol: "∂L/∂x = g · GELU′(x)", en: "GELU sends back g times its smooth derivative.", zh: "GELU 传回 g 乘以它的平滑导数。" },
  softmax: { symbol: "∂L/∂x = y ⊙ (g − Σ g ⊙ y)", en: "softmax mixes the gradients of all entries through its outputs.", zh: "softmax 通过输出把所有分量的梯度混合在一起。" },
  log_softmax: { symbol: "∂L/∂x = g − softmax(x) Σ g", en: "log_softmax subtracts the softmax-weighted sum of the gradient.", zh: "log_softmax 减去以 softmax 加权的梯度之和。" },
  mean: { symbol: "∂L/∂xᵢ = g / n", en: "mean spreads g evenly: each of the n inputs gets g / n.", zh: "mean 平均分配 g：n 个输入各得到 g / n。" },
  sum: { symbol: "∂L/∂xᵢ = g", en: "sum copies g to every input element.", zh: "sum 把 g 复制给每一个输入元素。" },
  prod: { symbol: "∂L/∂xᵢ = g · Π_{j≠i} xⱼ", en: "prod sends each element g times the product of the others.", zh: "prod 给每个元素 g 乘以其余元素之积。" },
  max: { symbol: "∂L/∂x = g at the max", en: "max sends g only to the element that was largest.", zh: "max 只把 g 传给最大的那个元素。" },
  min: { symbol: "∂L/∂x = g at the min", en: "min sends g only to the element that was smallest.", zh: "min 只把 g 传给最小的那个元素。" },
  mm: { symbol: "∂L/∂A = G Bᵀ,  ∂L/∂B = Aᵀ G", en: "Matrix product: G·Bᵀ for the left input, Aᵀ·G for the right.", zh: "矩阵乘法：左输入得到 G·Bᵀ，右输入得到 Aᵀ·G。" },
  mv: { symbol: "∂L/∂A = g xᵀ,  ∂L/∂x = Aᵀ g", en: "Matrix–vector product: g·xᵀ for the matrix, Aᵀ·g for the vector.", zh: "矩阵乘向量：矩阵得到 g·xᵀ，向量得到 Aᵀ·g。" },
  bmm: { symbol: "∂L/∂A = G Bᵀ,  ∂L/∂B = Aᵀ G (per batch)", en: "Batched matrix product, one matrix product per batch entry.", zh: "批量矩阵乘法，每个批次各做一次矩阵乘法。" },
  dot: { symbol: "∂L/∂a = g · b,  ∂L/∂b = g · a", en: "Dot product: each vector gets g times the other.", zh: "点积：每个向量得到 g 乘以另一个向量。" },
  addmm: { symbol: "∂L/∂x = G Wᵀ,  ∂L/∂W = xᵀ G,  ∂L/∂b = Σ G", en: "A linear layer y = x·Wᵀ + b: G·W to the input, Gᵀ·x to the weight, G summed over the batch to the bias.", zh: "线性层 y = x·Wᵀ + b：输入得到 G·W，权重得到 Gᵀ·x，偏置得到 G 在批次上的和。" },
  mse_loss: { symbol: "∂L/∂ŷ = g · 2(ŷ − y) / n", en: "Mean squared error sends back 2(ŷ − y)/n times g.", zh: "均方误差传回 g 乘以 2(ŷ − y)/n。" },
  l1_loss: { symbol: "∂L/∂ŷ = g · sign(ŷ − y) / n", en: "L1 loss sends back the sign of the error, divided by n.", zh: "L1 损失传回误差的符号除以 n。" },
  nll_loss: { symbol: "∂L/∂x = −g / n at the target", en: "NLL loss sends −g/n to the log-probability of each target class.", zh: "NLL 损失把 −g/n 传给每个目标类别的对数概率。" },
  bce: { symbol: "∂L/∂p = g · (p − y) / (p(1 − p) n)", en: "Binary cross-entropy pushes each probability toward its label.", zh: "二元交叉熵把每个概率推向它的标签。" },
  clamp: { symbol: "∂L/∂x = g inside the range, 0 outside", en: "clamp lets the gradient through only where the input was not clipped.", zh: "clamp 只在输入没有被截断的地方让梯度通过。" },
  norm: { symbol: "∂L/∂x = g · x / ‖x‖", en: "The norm sends back g times the direction x/‖x‖.", zh: "范数传回 g 乘以方向 x/‖x‖。" },
  conv: { symbol: "∂L/∂x = conv_transpose(G, W),  ∂L/∂W = conv(x, G)", en: "Convolution: the input gets a transposed convolution of G, the kernel a correlation of x with G.", zh: "卷积：输入得到 G 的转置卷积，卷积核得到 x 与 G 的相关。" },
  batch_norm: { symbol: "∂L/∂x through the batch statistics", en: "Batch norm's gradient flows through the mean and variance of the batch.", zh: "批归一化的梯度会经过批次的均值和方差。" },
  max_pool: { symbol: "∂L/∂x = g at each window's max", en: "Max pooling sends g to the element that won each window.", zh: "最大池化把 g 传给每个窗口中最大的元素。" },
  avg_pool: { symbol: "∂L/∂x = g / window size", en: "Average pooling spreads g evenly over each window.", zh: "平均池化把 g 平均分到每个窗口。" },
  view: { symbol: "∂L/∂x = reshape(g)", en: "A view or reshape only rearranges the gradient back into the input's shape.", zh: "view 或 reshape 只是把梯度重新排成输入的形状。" },
  select: { symbol: "∂L/∂x = g placed at index i", en: "Indexing puts g back at the selected position, zeros elsewhere.", zh: "索引把 g 放回被选中的位置，其余为 0。" },
  slice: { symbol: "∂L/∂x = g placed in the slice", en: "Slicing puts g back into the slice, zeros elsewhere.", zh: "切片把 g 放回切片所在位置，其余为 0。" },
  index: { symbol: "∂L/∂x = g scattered to the indices", en: "Advanced indexing scatters g back to the indexed positions (adding repeats).", zh: "高级索引把 g 散回被索引的位置（重复的位置会相加）。" },
  expand: { symbol: "∂L/∂x = Σ g over the expanded dims", en: "Broadcasting is undone by summing g over the expanded dimensions.", zh: "广播的反向是把 g 在扩展出的维度上求和。" },
  transpose: { symbol: "∂L/∂x = gᵀ", en: "A transpose sends back the transposed gradient.", zh: "转置传回转置后的梯度。" },
  cat: { symbol: "∂L/∂xᵢ = the slice of g for xᵢ", en: "Concatenation splits g back into the pieces it came from.", zh: "拼接把 g 按原来的部分拆开传回。" },
  identity: { symbol: "∂L/∂x = g", en: "A copy (clone, to) passes the gradient through unchanged.", zh: "复制（clone、to）让梯度原样通过。" },
  where: { symbol: "∂L/∂a = g where cond, ∂L/∂b = g elsewhere", en: "where routes g to whichever input was chosen at each position.", zh: "where 在每个位置把 g 传给被选中的那个输入。" },
  accumulate: { symbol: "x.grad ← x.grad + g", en: "AccumulateGrad adds the incoming gradient into the leaf's .grad (it does not overwrite).", zh: "AccumulateGrad 把传入的梯度加到叶子张量的 .grad 上（不会覆盖）。" },
  copy_slices: { symbol: "∂L/∂base = g with the written slice zeroed", en: "CopySlices: an in-place write into part of a tensor; the overwritten part gets no gradient from the old values.", zh: "CopySlices：对张量一部分的原地写入；被覆盖部分的旧值不再得到梯度。" },
};

export function ruleText(key: string | null | undefined): { symbol: string; words: string } | null {
  if (!key) return null;
  const rule = RULES[key];
  if (!rule) return null;
  return { symbol: rule.symbol, words: state.lang === "zh-CN" ? rule.zh : rule.en };
}
