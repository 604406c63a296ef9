// The Trace as the server sends it (the contract is app/gradstage/schema.py).

export type Num = number | "nan" | "inf" | "-inf";

export interface Stats { min: number | null; max: number | null; mean: number | null; std: number | null; nan?: number; inf?: number }
export interface Histogram { low: number; high: number; counts: number[]; sample?: number }
export interface Value {
  shape: number[]; dtype: string; data?: Num[]; stats?: Stats; preview?: Num[]; histogram?: Histogram;
  imag?: Num[]; real_part_only?: boolean; layout?: string;
}

export interface TraceError { type: string; message: string; line?: number | null; explanation?: string | null; explanation_zh?: string | null; code?: string | null }

export interface TensorInfo {
  id: string; shape: number[]; dtype: string; kind: "leaf" | "param" | "nonleaf" | "constant" | "detached" | "grad";
  requires_grad: boolean; is_leaf: boolean; retains_grad?: boolean; name?: string | null; module?: string | null;
  line?: number | null; grad_fn?: string | null; output_nr?: number; value?: Value | null; grad?: Value | null;
  cut?: string | null; cut_from?: string | null; first_event?: number | null;
}

export interface SavedTensor { name: string; tensor?: string | null; value?: Value | null; scalar?: Num | string | null }
export interface NextFunction { node: string | null; input_nr: number }
export interface GraphNode {
  id: string; name: string; kind: "op" | "accumulate" | "view" | "copy_slices" | "custom" | "other"; label: string;
  next: NextFunction[]; op?: string | null; rule?: string | null; line?: number | null; inputs?: (string | null)[];
  outputs?: string[]; variable?: string | null; saved?: SavedTensor[]; module?: string | null; instances?: number;
}
export interface Edge { kind: "next" | "flow"; src: string; dst: string; input_nr?: number; cut?: string | null; op?: string | null; node?: string | null }

export interface TraceEvent {
  kind: string; seq: number; line?: number | null; iteration?: number | null;
  [field: string]: unknown;
}

export interface Series { name: string; source: "plot" | "loss" | "scalar"; y: Num[]; x?: Num[] | null; line?: number | null; label?: string | null }
export interface Truncation { iterations_total?: number; iterations_detailed?: number[]; events_dropped?: number; stdout_bytes_dropped?: number; limit_hit?: string | null; nodes_dropped?: number; tensors_dropped?: number }

export interface Trace {
  schema_version: number; stdout: string; error: TraceError | null; tensors: TensorInfo[]; nodes: GraphNode[];
  edges: Edge[]; events: TraceEvent[]; stderr?: string; series?: Series[]; truncated?: Truncation | null;
  meta?: Record<string, unknown>;
}

export interface Selector { kind: string; nth?: number; tensor?: string; node?: string; line?: number; iteration?: number }
export interface Pointer { id: string; at: Selector; text: Record<string, string> }
export interface Lesson {
  id: string; group: string; order: number; title: Record<string, string>; summary: Record<string, string>;
  explanation: Record<string, string>; source: string; pointers: Pointer[]; raises?: boolean;
}
export interface LessonRef { id: string; group: string; title: Record<string, string> }

export interface Boot {
  page: "app" | "embed"; lesson: Lesson | null; trace: Trace | null; api: string | null;
  lessons: LessonRef[]; groups: Record<string, Record<string, string>>;
  source?: string;
  /** This response's CSP nonce, for the style element the code editor writes. */
  nonce?: string | null;
}
