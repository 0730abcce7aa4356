/**
 * The README walkthrough as data: the part of README.md between `<!-- walkthrough:start -->` and
 * `<!-- walkthrough:end -->`, its `text` block (the banner lines a user sees) and its `sh` blocks, each titled by
 * its first line, a `# ...` comment. The test runs the blocks; nothing else in the README is executed.
 */
import { readFileSync } from 'node:fs';

export const WALKTHROUGH_START = '<!-- walkthrough:start -->';
export const WALKTHROUGH_END = '<!-- walkthrough:end -->';

/** Raised when the README has no well-formed walkthrough; the message names the rule it breaks. */
export class WalkthroughFormatError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'WalkthroughFormatError';
  }
}

export interface WalkthroughBlock {
  /** The first line's comment, without `# `: what the block does, and the key of its check in the test. */
  title: string;
  /** The block as a user pastes it, title comment included. */
  code: string;
  /** 1-based line of README.md where the block's code starts. */
  line: number;
}

export interface Walkthrough {
  /** Lines of the `text` blocks: what the README says `npm run local` prints. */
  banner: string[];
  /** The `sh` blocks, in order. */
  blocks: WalkthroughBlock[];
}

/** Parses the walkthrough out of README text. */
export function parseWalkthrough(readme: string): Walkthrough {
  const lines = readme.split('\n');
  const start = lines.findIndex((line) => line.trim() === WALKTHROUGH_START);
  const end = lines.findIndex((line) => line.trim() === WALKTHROUGH_END);
  if (start < 0 || end < 0) throw new WalkthroughFormatError(`README.md must hold the lines ${WALKTHROUGH_START} and ${WALKTHROUGH_END}`);
  if (end < start) throw new WalkthroughFormatError(`README.md: ${WALKTHROUGH_END} (line ${end + 1}) must come after ${WALKTHROUGH_START} (line ${start + 1})`);
  const walkthrough: Walkthrough = { banner: [], blocks: [] };
  let fence: { language: string; from: number; body: string[] } | undefined;
  for (let i = start + 1; i < end; i += 1) {
    const line = lines[i]!;
    const marker = /^```\s*([\w-]*)/.exec(line);
    if (!fence) {
      if (marker) fence = { language: marker[1] ?? '', from: i + 2, body: [] };
      continue;
    }
    if (line.trim() !== '```') {
      fence.body.push(line);
      continue;
    }
    if (fence.language === 'text') walkthrough.banner.push(...fence.body);
    else if (fence.language === 'sh') {
      const title = /^#\s+(.+)$/.exec(fence.body[0] ?? '')?.[1];
      if (!title) throw new WalkthroughFormatError(`README.md line ${fence.from}: a walkthrough sh block must start with a "# what it does" comment`);
      walkthrough.blocks.push({ title: title.trim(), code: fence.body.join('\n') + '\n', line: fence.from });
    } else throw new WalkthroughFormatError(`README.md line ${fence.from - 1}: walkthrough blocks are sh (run by the test) or text (what the stack prints); got "${fence.language}"`);
    fence = undefined;
  }
  if (fence) throw new WalkthroughFormatError(`README.md line ${fence.from - 1}: the block is not closed before ${WALKTHROUGH_END}`);
  return walkthrough;
}

/** Reads and parses the walkthrough of the README at `path`. */
export function readWalkthrough(path: string): Walkthrough {
  return parseWalkthrough(readFileSync(path, 'utf8'));
}
