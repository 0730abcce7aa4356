import { encodeModel, ML_DOMAIN, node, tensorValue } from './graph';
import { InvalidModelInputError } from './errors';

export interface LabelDecoderOptions {
  /** Name of the graph input (int64 `[N]` class indices); defaults to `label`. */
  inputName?: string;
  /** Name of the graph output (string `[N]`); defaults to `class`. */
  outputName?: string;
  /** What an index outside `0 .. labels.length - 1` decodes to; defaults to `unknown`. */
  unknownLabel?: string;
}

/**
 * Builds a model that turns class indices into their names with the ONNX-ML `LabelEncoder` (int64 keys,
 * string values), the last stage of a classification pipeline whose answer is a string tensor.
 */
export function buildLabelDecoderModel(labels: readonly string[], options: LabelDecoderOptions = {}): Uint8Array {
  if (!Array.isArray(labels) || labels.length === 0) {
    throw new InvalidModelInputError('labels', 'must be a non-empty array of strings');
  }
  labels.forEach((label, i) => {
    if (typeof label !== 'string' || label.length === 0) {
      throw new InvalidModelInputError(`labels[${i}]`, 'must be a non-empty string');
    }
  });
  const input = options.inputName ?? 'label';
  const output = options.outputName ?? 'class';
  return encodeModel({
    name: 'label_decoder',
    description: `Class index to name: ${labels.join(', ')}`,
    inputs: [tensorValue(input, 'int64', ['N'])],
    outputs: [tensorValue(output, 'string', ['N'])],
    nodes: [
      node(
        'LabelEncoder',
        [input],
        [output],
        {
          keys_int64s: { ints: labels.map((_, i) => i) },
          values_strings: { strings: [...labels] },
          default_string: { string: options.unknownLabel ?? 'unknown' },
        },
        ML_DOMAIN,
      ),
    ],
  });
}
