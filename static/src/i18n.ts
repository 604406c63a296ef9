// Every word of the interface, in English and Simplified Chinese.
import { state, type Lang } from "./store.ts";

const en = {
  run: "Run", running: "Running…", play: "Play", pause: "Pause", stepForward: "Step forward",
  stepBack: "Step back", restart: "Restart", speed: "Speed", program: "Program", lessons: "Lessons",
  share: "Share", download: "Download", language: "Language", theme: "Theme", light: "Light", dark: "Dark",
  viewFlow: "Data flow", viewGradFn: "grad_fn graph", view: "View", fit: "Fit", zoomIn: "Zoom in", zoomOut: "Zoom out",
  console: "Console", chart: "Chart", inspector: "Inspector", watch: "What to watch", legend: "Legend",
  noSelection: "Click a node of the graph to see its value, its gradient and its local rule.",
  value: "value", grad: "grad", shape: "shape", dtype: "dtype", requiresGrad: "requires_grad", isLeaf: "is_leaf",
  gradFn: "grad_fn", saved: "saved tensors", rule: "local rule", thisStep: "at this step", line: "line",
  before: "before", delta: "delta", after: "after", none: "None",
  unread: "values not readable here (inside a torch.func transform, or already freed)",
  realPartOnly: "complex tensor: these figures describe its real part",
  sparseShownDense: "sparse tensor ({layout}): shown with its zeros filled in",
  legendLeaf: "leaf that requires grad", legendParam: "parameter (nn.Module)", legendNonleaf: "computed (non-leaf)",
  legendConstant: "constant (no grad)", legendDetached: "cut from the graph", legendOp: "operation (autograd Node)",
  legendCut: "cut: detach / no_grad / .data",
  stepOf: "step {i} of {n}", start: "start", errorAt: "Error at line {line}", explanation: "Why",
  truncated: "Detail of iterations {ranges} is left out ({n} events); what they printed is kept.",
  truncatedCurve: "Detail of iterations {ranges} is left out ({n} events); what they printed is kept, and the loss curve has every iteration.",
  limit_max_events: "The Trace reached its limit of timeline events: {n} later events are left out.",
  limit_max_nodes: "The program made more autograd Nodes than a Trace keeps: {n} from the middle of backward are left out.",
  limit_max_tensors: "The program made more tensors than a Trace keeps: {n} later ones are left out.",
  limit_stdout_bytes: "The program printed more than is kept: {n} bytes are left out.",
  modules: "modules",
  lessonEdited: "The program was changed: this text describes the lesson's own program.",
  emptyTrace: "Press Run to trace the program.", noOutput: "(nothing printed yet)",
  series: "Loss curve", seriesRoot: "Backpropagated from", iteration: "iteration", networkError: "The server could not be reached.",
  copyLink: "Copy link", copyEmbed: "Copy iframe code", copied: "Copied", close: "Close",
  downloadTrace: "Trace (JSON)", downloadSvg: "Graph (SVG)", downloadPng: "Graph (PNG)", downloadHtml: "Player (HTML file)",
  kind_op: "forward op", kind_backward: "backward()", kind_node: "backward node", kind_accumulate: ".grad accumulates",
  kind_zero_grad: "zero_grad", kind_optimizer: "optimizer.step()", kind_update: "parameter update", kind_print: "print",
  kind_error: "error", kind_anomaly: "NaN / inf", kind_hook: "hook", kind_iteration: "iteration", kind_clip: "gradient clipping",
  kind_retain_grad: "retain_grad", kind_backward_end: "backward done", kind_warning: "warning", kind_skipped: "left out",
  kind_plot: "plot", kind_grad_set: ".grad set",
  nowForward: "{op} computed {name}", nowBackward: "backward() from {name}, seed {seed}", nowNode: "{node}: gradients {out} in, {ins} out",
  nowAccumulate: "{name}.grad: {before} + {delta} = {after}", nowZero: "{via}: gradients emptied", nowOptimizer: "{opt}.step(): parameters moved",
  nowUpdate: "{name} updated in place ({op})", nowPrint: "print", nowError: "{type}: {message}",
  nowAccumulateFilled: "{name}.grad filled by a backward inside a node: {after}",
  statusCounts: "{events} events · {nodes} nodes", scalarShape: "[] (scalar)",
  gradFlowing: "flowing grad", gradFlowingNote: "The gradient that flowed through this tensor. It is not a leaf, so its .grad stays None (call retain_grad() before backward() to keep it).",
  whyAnomaly: "Why",
  nowAnomaly: "First {what} in {phase}", nowHook: "hook on {name} fired", nowIteration: "iteration {i}", nowClip: "gradients clipped: total norm {norm}", nowClipValue: "gradients clamped to ±{value}",
  nowRetain: "{name}.grad kept by retain_grad()", nowBackwardEnd: "backward() finished", nowWarning: "warning: {message}",
  nowSkipped: "iterations {a}–{b} left out", nowPlot: "plotted a series", nowGradSet: "{name}.grad set",
};

type Key = keyof typeof en;

const zh: Record<Key, string> = {
  run: "运行", running: "运行中…", play: "播放", pause: "暂停", stepForward: "前进一步",
  stepBack: "后退一步", restart: "从头开始", speed: "速度", program: "程序", lessons: "课程",
  share: "分享", download: "下载", language: "语言", theme: "主题", light: "浅色", dark: "深色",
  viewFlow: "数据流", viewGradFn: "grad_fn 图", view: "视图", fit: "适应窗口", zoomIn: "放大", zoomOut: "缩小",
  console: "控制台", chart: "图表", inspector: "详情", watch: "看点", legend: "图例",
  noSelection: "点击图中的节点，查看它的值、梯度和局部求导规则。",
  value: "值", grad: "梯度", shape: "形状", dtype: "数据类型", requiresGrad: "requires_grad", isLeaf: "is_leaf",
  gradFn: "grad_fn", saved: "保存的张量", rule: "局部规则", thisStep: "这一步", line: "行",
  before: "之前", delta: "增量", after: "之后", none: "None",
  unread: "此处无法读取数值（在 torch.func 变换内部，或已被释放）",
  realPartOnly: "复数张量：以下数值描述其实部",
  sparseShownDense: "稀疏张量（{layout}）：显示时补全了其中的零",
  legendLeaf: "需要梯度的叶子张量", legendParam: "参数（nn.Module）", legendNonleaf: "计算得到（非叶子）",
  legendConstant: "常量（无梯度）", legendDetached: "与计算图断开", legendOp: "运算（autograd 节点）",
  legendCut: "断开：detach / no_grad / .data",
  stepOf: "第 {i} 步，共 {n} 步", start: "开始", errorAt: "第 {line} 行出错", explanation: "原因",
  truncated: "第 {ranges} 次迭代的细节未保留（{n} 个事件）；其打印输出仍保留。",
  truncatedCurve: "第 {ranges} 次迭代的细节未保留（{n} 个事件）；其打印输出仍保留，损失曲线包含每一次迭代。",
  limit_max_events: "追踪达到时间线事件数量上限：之后的 {n} 个事件未保留。",
  limit_max_nodes: "程序生成的 autograd 节点超过追踪可保留的数量：反向传播中间的 {n} 个节点未保留。",
  limit_max_tensors: "程序生成的张量超过追踪可保留的数量：之后的 {n} 个张量未保留。",
  limit_stdout_bytes: "程序的打印输出超过可保留的长度：{n} 字节未保留。",
  modules: "模块",
  lessonEdited: "程序已被修改：这段说明针对的是课程原本的程序。",
  emptyTrace: "点击“运行”来追踪这个程序。", noOutput: "（还没有输出）",
  series: "损失曲线", seriesRoot: "反向传播的起点", iteration: "迭代", networkError: "无法连接服务器。",
  copyLink: "复制链接", copyEmbed: "复制 iframe 代码", copied: "已复制", close: "关闭",
  downloadTrace: "追踪数据（JSON）", downloadSvg: "计算图（SVG）", downloadPng: "计算图（PNG）", downloadHtml: "播放器（HTML 文件）",
  kind_op: "前向运算", kind_backward: "backward()", kind_node: "反向节点", kind_accumulate: ".grad 累加",
  kind_zero_grad: "梯度清零", kind_optimizer: "optimizer.step()", kind_update: "参数更新", kind_print: "打印",
  kind_error: "错误", kind_anomaly: "NaN / inf", kind_hook: "钩子", kind_iteration: "迭代", kind_clip: "梯度裁剪",
  kind_retain_grad: "retain_grad", kind_backward_end: "反向结束", kind_warning: "警告", kind_skipped: "省略",
  kind_plot: "绘图", kind_grad_set: "设置 .grad",
  nowForward: "{op} 计算出 {name}", nowBackward: "从 {name} 开始 backward()，初始梯度 {seed}", nowNode: "{node}：传入梯度 {out}，传出 {ins}",
  nowAccumulate: "{name}.grad：{before} + {delta} = {after}", nowZero: "{via}：梯度被清空", nowOptimizer: "{opt}.step()：参数已更新",
  nowUpdate: "{name} 被原地更新（{op}）", nowPrint: "打印", nowError: "{type}：{message}",
  nowAccumulateFilled: "{name}.grad 由节点内部的一次反向传播填入：{after}",
  statusCounts: "{events} 个事件 · {nodes} 个节点", scalarShape: "[]（标量）",
  gradFlowing: "流经梯度", gradFlowingNote: "流经这个张量的梯度。它不是叶子，所以它的 .grad 仍是 None（在 backward() 之前调用 retain_grad() 才会保留）。",
  whyAnomaly: "原因",
  nowAnomaly: "{phase} 中第一次出现 {what}", nowHook: "{name} 上的钩子被触发", nowIteration: "第 {i} 次迭代", nowClip: "梯度已裁剪：总范数 {norm}", nowClipValue: "梯度已截断到 ±{value}",
  nowRetain: "retain_grad() 保留了 {name}.grad", nowBackwardEnd: "backward() 完成", nowWarning: "警告：{message}",
  nowSkipped: "第 {a}–{b} 次迭代已省略", nowPlot: "绘制了一条曲线", nowGradSet: "{name}.grad 被设置",
};

const tables: Record<Lang, Record<Key, string>> = { en, "zh-CN": zh };

export type I18nKey = Key;

export function t(key: Key, vars: Record<string, string | number> = {}): string {
  const text = tables[state.lang][key] ?? en[key];
  return text.replace(/\{(\w+)\}/g, (_, name: string) => String(vars[name] ?? ""));
}

export function hasKey(key: string): key is Key {
  return key in en;
}
