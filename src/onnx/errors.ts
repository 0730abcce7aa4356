/**
 * A value handed to an ONNX model builder or trainer that breaks one of its rules. `input` names the
 * offending argument (as a path such as `rows[3][1]`) and `rule` states what it must satisfy, so a caller
 * can tell which of their numbers is wrong without reading the builder.
 */
export class InvalidModelInputError extends Error {
  override readonly name = 'InvalidModelInputError';
  constructor(
    readonly input: string,
    readonly rule: string,
  ) {
    super(`${input}: ${rule}`);
  }
}
