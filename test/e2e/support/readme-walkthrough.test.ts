import { describe, expect, it } from 'vitest';
import { parseExports } from './local-command';
import { parseWalkthrough, WalkthroughFormatError } from './readme-walkthrough';

const fence = '```';

describe('Function: parseWalkthrough', () => {
  it('reads the text lines and the titled sh blocks between the markers, and nothing outside them', () => {
    // Prepare
    const readme = [
      `${fence}sh`,
      '# outside, never run',
      'rm -rf /',
      fence,
      '<!-- walkthrough:start -->',
      `${fence}text`,
      'ready: http://127.0.0.1:4566',
      fence,
      `${fence}sh`,
      '# first step',
      'echo one',
      fence,
      '<!-- walkthrough:end -->',
    ].join('\n');

    // Act
    const walkthrough = parseWalkthrough(readme);

    // Assess
    expect(walkthrough).toEqual({ banner: ['ready: http://127.0.0.1:4566'], blocks: [{ title: 'first step', code: '# first step\necho one\n', line: 10 }] });
  });

  it('refuses a README without markers, with an untitled block, another language, or an unclosed block, naming the rule', () => {
    expect(() => parseWalkthrough('no markers')).toThrow(WalkthroughFormatError);
    expect(() => parseWalkthrough('<!-- walkthrough:end -->\n<!-- walkthrough:start -->')).toThrow(/must come after/);
    expect(() => parseWalkthrough(`<!-- walkthrough:start -->\n${fence}sh\necho untitled\n${fence}\n<!-- walkthrough:end -->`)).toThrow(/line 3: .*must start with a "# what it does" comment/);
    expect(() => parseWalkthrough(`<!-- walkthrough:start -->\n${fence}bash\n# t\n${fence}\n<!-- walkthrough:end -->`)).toThrow(/sh \(run by the test\) or text .*got "bash"/);
    expect(() => parseWalkthrough(`<!-- walkthrough:start -->\n${fence}sh\n# t\n<!-- walkthrough:end -->`)).toThrow(/not closed/);
  });
});

describe('Function: parseExports', () => {
  it('reads every assignment of the export lines and ignores other lines', () => {
    expect(parseExports(['[local] x=1', 'export A=1 B=http://h:1/x', 'export C=local'])).toEqual({ A: '1', B: 'http://h:1/x', C: 'local' });
  });
});
