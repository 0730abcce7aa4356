/**
 * Small helpers over the ONNX protobuf messages (`onnx-proto`), so that the model builders read as graphs
 * rather than as protobuf plumbing. Everything here produces plain message objects; `encodeModel` turns a
 * graph into the bytes onnxruntime loads.
 */
import onnxProto from 'onnx-proto';

const { onnx } = onnxProto;

/** Element types used by the builders, with the numbers ONNX's `TensorProto.DataType` gives them. */
export const ElementType = {
  float: onnx.TensorProto.DataType.FLOAT,
  int64: onnx.TensorProto.DataType.INT64,
  string: onnx.TensorProto.DataType.STRING,
  double: onnx.TensorProto.DataType.DOUBLE,
} as const;
export type ElementTypeName = keyof typeof ElementType;

/** A dimension: a fixed size, or a symbolic name (such as `N` for the batch) left free at run time. */
export type Dimension = number | string;

/** The opset versions the builders target: ONNX 1.10's `ai.onnx` 13 and `ai.onnx.ml` 2, both run by onnxruntime. */
export const OPSET_DEFAULT = 13;
export const OPSET_ML = 2;
export const ML_DOMAIN = 'ai.onnx.ml';

export type ValueInfo = ReturnType<typeof onnx.ValueInfoProto.create>;
export type Node = ReturnType<typeof onnx.NodeProto.create>;
export type Tensor = ReturnType<typeof onnx.TensorProto.create>;
export type Attribute = ReturnType<typeof onnx.AttributeProto.create>;

/** Declares a graph input or output: a tensor of `type` with the given dimensions. */
export function tensorValue(name: string, type: ElementTypeName, dims: Dimension[]): ValueInfo {
  return onnx.ValueInfoProto.create({
    name,
    type: {
      tensorType: {
        elemType: ElementType[type],
        shape: { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) },
      },
    },
  });
}

/** A float32 constant (an initializer) with the given shape, values in row-major order. */
export function floatTensor(name: string, dims: number[], values: readonly number[]): Tensor {
  return onnx.TensorProto.create({ name, dims, dataType: ElementType.float, floatData: [...values] });
}

/** An int64 constant (an initializer) with the given shape. */
export function int64Tensor(name: string, dims: number[], values: readonly number[]): Tensor {
  return onnx.TensorProto.create({ name, dims, dataType: ElementType.int64, int64Data: [...values] });
}

/** A string constant (an initializer) with the given shape, stored as UTF-8 bytes as ONNX requires. */
export function stringTensor(name: string, dims: number[], values: readonly string[]): Tensor {
  const encoder = new TextEncoder();
  return onnx.TensorProto.create({
    name,
    dims,
    dataType: ElementType.string,
    stringData: values.map((v) => encoder.encode(v)),
  });
}

/** Attribute values the builders need; the kind is inferred from the JavaScript value. */
export type AttributeValue =
  | { int: number }
  | { float: number }
  | { string: string }
  | { ints: number[] }
  | { floats: number[] }
  | { strings: string[] };

function attribute(name: string, value: AttributeValue): Attribute {
  const A = onnx.AttributeProto.AttributeType;
  const encoder = new TextEncoder();
  if ('int' in value) return onnx.AttributeProto.create({ name, type: A.INT, i: value.int });
  if ('float' in value) return onnx.AttributeProto.create({ name, type: A.FLOAT, f: value.float });
  if ('string' in value) return onnx.AttributeProto.create({ name, type: A.STRING, s: encoder.encode(value.string) });
  if ('ints' in value) return onnx.AttributeProto.create({ name, type: A.INTS, ints: value.ints });
  if ('floats' in value) return onnx.AttributeProto.create({ name, type: A.FLOATS, floats: value.floats });
  return onnx.AttributeProto.create({ name, type: A.STRINGS, strings: value.strings.map((s) => encoder.encode(s)) });
}

/** One operator application. `domain` is `ai.onnx.ml` for the ONNX-ML operators (Scaler, LabelEncoder, ...). */
export function node(
  opType: string,
  inputs: string[],
  outputs: string[],
  attributes: Record<string, AttributeValue> = {},
  domain = '',
): Node {
  return onnx.NodeProto.create({
    opType,
    input: inputs,
    output: outputs,
    name: `${opType}_${outputs.join('_')}`,
    domain,
    attribute: Object.entries(attributes).map(([name, value]) => attribute(name, value)),
  });
}

export interface GraphDefinition {
  /** The graph's name, kept in the model for whoever inspects it. */
  name: string;
  inputs: ValueInfo[];
  outputs: ValueInfo[];
  nodes: Node[];
  initializers?: Tensor[];
  /** Free text stored as the model's doc string. */
  description?: string;
}

/**
 * Encodes a graph as a complete ONNX model (IR version 8, opsets `ai.onnx` 13 and `ai.onnx.ml` 2), the
 * bytes of a `model.onnx` file.
 */
export function encodeModel(graph: GraphDefinition): Uint8Array {
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'smhost',
    producerVersion: '1',
    docString: graph.description ?? '',
    opsetImport: [
      { domain: '', version: OPSET_DEFAULT },
      { domain: ML_DOMAIN, version: OPSET_ML },
    ],
    graph: {
      name: graph.name,
      input: graph.inputs,
      output: graph.outputs,
      node: graph.nodes,
      initializer: graph.initializers ?? [],
    },
  });
  return onnx.ModelProto.encode(model).finish();
}
