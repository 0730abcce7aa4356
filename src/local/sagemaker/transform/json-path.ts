/**
 * The JSONPath subset batch transform's `InputFilter` and `OutputFilter` accept (SageMaker documents these
 * operators and no others): `$` the root, `.name` and `['name'(,'name')*]` children, `.*` and `[*]` every
 * child, `[n(,n)*]` indexes (negative counts from the end), and `[start:end]` slices (either end optional,
 * negative allowed). Deep scan (`..`) and filter expressions (`?()`) are refused, as SageMaker refuses them.
 *
 * A CSV record is filtered as a JSON array of its cells, so `$[1:]` drops the first column.
 */

/** A filter expression outside the supported subset; `expression` and `position` say where. */
export class JsonPathError extends Error {
  override readonly name = 'JsonPathError';
  constructor(
    readonly expression: string,
    readonly position: number,
    rule: string,
  ) {
    super(`JSONPath ${JSON.stringify(expression)} at character ${position + 1}: ${rule}`);
  }
}

type Step =
  | { kind: 'names'; names: string[] }
  | { kind: 'indexes'; indexes: number[] }
  | { kind: 'slice'; start: number | undefined; end: number | undefined }
  | { kind: 'wildcard' };

/** A parsed expression: `select` applies it to a value. */
export interface JsonPath {
  readonly expression: string;
  /** True for `$` alone, which selects everything unchanged. */
  readonly isRoot: boolean;
  /**
   * Applies the path. A path with a union, slice or wildcard selects a list (an array, possibly empty);
   * otherwise it selects one value, and `undefined` when it does not exist.
   */
  select(value: unknown): unknown;
}

function isMulti(step: Step): boolean {
  return step.kind === 'wildcard' || step.kind === 'slice' || (step.kind === 'names' && step.names.length > 1) || (step.kind === 'indexes' && step.indexes.length > 1);
}

function applyStep(nodes: unknown[], step: Step): unknown[] {
  const out: unknown[] = [];
  for (const node of nodes) {
    if (step.kind === 'wildcard') {
      if (Array.isArray(node)) out.push(...node);
      else if (typeof node === 'object' && node !== null) out.push(...Object.values(node));
    } else if (step.kind === 'names') {
      if (typeof node !== 'object' || node === null || Array.isArray(node)) continue;
      for (const name of step.names) if (Object.hasOwn(node, name)) out.push((node as Record<string, unknown>)[name]);
    } else if (step.kind === 'indexes') {
      if (!Array.isArray(node)) continue;
      for (const index of step.indexes) {
        const at = index < 0 ? node.length + index : index;
        if (at >= 0 && at < node.length) out.push(node[at]);
      }
    } else {
      if (!Array.isArray(node)) continue;
      const clamp = (i: number) => Math.min(Math.max(i < 0 ? node.length + i : i, 0), node.length);
      const start = step.start === undefined ? 0 : clamp(step.start);
      const end = step.end === undefined ? node.length : clamp(step.end);
      out.push(...node.slice(start, Math.max(start, end)));
    }
  }
  return out;
}

const NAME = /^[A-Za-z_$][A-Za-z0-9_$-]*/;

function parseBracket(expression: string, at: number): { step: Step; next: number } {
  const close = expression.indexOf(']', at);
  if (close < 0) throw new JsonPathError(expression, at, 'an opening [ has no closing ]');
  const inside = expression.slice(at + 1, close).trim();
  if (inside === '*') return { step: { kind: 'wildcard' }, next: close + 1 };
  if (inside.startsWith('?') || inside.startsWith('(')) throw new JsonPathError(expression, at, 'filter and script expressions are not supported by batch transform');
  if (inside.startsWith("'") || inside.startsWith('"')) {
    const names: string[] = [];
    const pattern = /\s*(['"])((?:(?!\1).)*)\1\s*(,|$)/y;
    let offset = 0;
    while (offset < inside.length) {
      pattern.lastIndex = offset;
      const match = pattern.exec(inside);
      if (!match) throw new JsonPathError(expression, at + 1 + offset, "expected a quoted name such as ['name']");
      names.push(match[2]!);
      offset = pattern.lastIndex;
      if (match[3] === '' && offset < inside.length) throw new JsonPathError(expression, at + 1 + offset, 'expected , between names');
    }
    if (names.length === 0) throw new JsonPathError(expression, at, 'empty brackets');
    return { step: { kind: 'names', names }, next: close + 1 };
  }
  if (inside.includes(':')) {
    const parts = inside.split(':');
    if (parts.length > 3 || (parts.length === 3 && parts[2]!.trim() !== '' && parts[2]!.trim() !== '1')) {
      throw new JsonPathError(expression, at, 'a slice is [start:end]; steps other than 1 are not supported');
    }
    const bound = (text: string): number | undefined => {
      const t = text.trim();
      if (t === '') return undefined;
      if (!/^-?\d+$/.test(t)) throw new JsonPathError(expression, at, `slice bound ${JSON.stringify(t)} is not an integer`);
      return Number(t);
    };
    return { step: { kind: 'slice', start: bound(parts[0]!), end: bound(parts[1]!) }, next: close + 1 };
  }
  const items = inside.split(',').map((s) => s.trim());
  if (items.some((item) => !/^-?\d+$/.test(item))) {
    throw new JsonPathError(expression, at, "brackets take indexes [0,2], a slice [1:], names ['a','b'] or *");
  }
  return { step: { kind: 'indexes', indexes: items.map(Number) }, next: close + 1 };
}

/**
 * Parses a filter expression.
 *
 * @throws {JsonPathError} for anything outside the supported subset, naming the position.
 */
export function parseJsonPath(expression: string): JsonPath {
  if (!expression.startsWith('$')) throw new JsonPathError(expression, 0, 'must start with $ (the root)');
  const steps: Step[] = [];
  let at = 1;
  while (at < expression.length) {
    const ch = expression[at]!;
    if (ch === '.') {
      if (expression[at + 1] === '.') throw new JsonPathError(expression, at, 'deep scan (..) is not supported by batch transform');
      if (expression[at + 1] === '*') {
        steps.push({ kind: 'wildcard' });
        at += 2;
        continue;
      }
      const match = NAME.exec(expression.slice(at + 1));
      if (!match) throw new JsonPathError(expression, at + 1, 'expected a name after .');
      steps.push({ kind: 'names', names: [match[0]] });
      at += 1 + match[0].length;
    } else if (ch === '[') {
      const { step, next } = parseBracket(expression, at);
      steps.push(step);
      at = next;
    } else {
      throw new JsonPathError(expression, at, `unexpected ${JSON.stringify(ch)}; expected .name or [...]`);
    }
  }
  const multi = steps.some(isMulti);
  return {
    expression,
    isRoot: steps.length === 0,
    select(value: unknown): unknown {
      let nodes = [value];
      for (const step of steps) nodes = applyStep(nodes, step);
      return multi ? nodes : nodes[0];
    },
  };
}
