import { describe, expect, it } from 'vitest';
import { InvalidInputError, NotFoundError, WaitTimeoutError } from '../../src/cli/errors';
import { captureStreams } from './fakes';
import { formatFields, formatTable, Output, renderList, wantsColor } from '../../src/cli/output';

function streams() {
  const out: string[] = [];
  const err: string[] = [];
  return {
    streams: {
      stdout: { write: (c: string | Uint8Array) => out.push(typeof c === 'string' ? c : Buffer.from(c).toString()) },
      stderr: { write: (c: string | Uint8Array) => err.push(typeof c === 'string' ? c : Buffer.from(c).toString()) },
    },
    stdout: () => out.join(''),
    stderr: () => err.join(''),
  };
}

describe('Function: formatTable', () => {
  it('aligns columns under their headers and right-aligns numbers', () => {
    // Act
    const text = formatTable(
      [
        { header: 'MODEL', cell: (r: { m: string; n: number }) => r.m },
        { header: 'N', cell: (r) => r.n, align: 'right' },
      ],
      [
        { m: 'a', n: 1 },
        { m: 'long/name', n: 100 },
      ],
    );

    // Assess
    expect(text).toBe('MODEL        N\na            1\nlong/name  100\n');
  });

  it('says so when there are no rows and shows absent cells as "-"', () => {
    // Act / Assess
    expect(formatTable([{ header: 'A', cell: () => 'x' }], [], '(nothing)')).toBe('(nothing)\n');
    expect(formatTable([{ header: 'A', cell: () => undefined }], [{}])).toBe('A\n-\n');
  });

  it('keeps control characters out of the terminal', () => {
    // Act / Assess
    expect(formatTable([{ header: 'A', cell: () => 'a\u001b[2Jb' }], [{}])).toBe('A\na?[2Jb\n');
  });
});

describe('Function: formatFields', () => {
  it('aligns keys, skips absent values and shows booleans as yes/no', () => {
    // Act / Assess
    expect(formatFields([['model', 'm1'], ['target model', 'm1/v.tar.gz'], ['current', true], ['reason', undefined]])).toBe(
      'model:        m1\ntarget model: m1/v.tar.gz\ncurrent:      yes\n',
    );
  });
});

describe('Class: Output', () => {
  it('writes exactly one JSON document on stdout with --json, logs on stderr', () => {
    // Prepare
    const s = streams();
    const output = new Output(s.streams, true);

    // Act
    output.log('uploading');
    output.result({ a: 1 }, 'human text');

    // Assess
    expect(JSON.parse(s.stdout())).toEqual({ a: 1 });
    expect(s.stderr()).toBe('uploading\n');
  });

  it('writes the human rendering without --json', () => {
    // Prepare
    const s = streams();

    // Act
    new Output(s.streams, false).result({ a: 1 }, 'human text');

    // Assess
    expect(s.stdout()).toBe('human text\n');
  });

  it('maps errors to exit codes and, with --json, to an error document', () => {
    // Prepare
    const cases = [
      [new InvalidInputError('--keep "0"', 'must be at least 1'), 2],
      [new NotFoundError('model "m" is not registered', { model: 'm' }), 3],
      [new WaitTimeoutError('no outcome'), 4],
      [new Error('socket hang up'), 1],
    ] as const;

    for (const [error, code] of cases) {
      const s = streams();
      const output = new Output(s.streams, true);

      // Act
      const exitCode = output.error(error);

      // Assess
      expect(exitCode).toBe(code);
      expect(s.stderr()).toBe(`smhost: ${error.message}\n`);
      const document = JSON.parse(s.stdout());
      expect(document.error).toMatchObject({ message: error.message, exitCode: code });
    }
  });

  it('does not add an error document after a result was written', () => {
    // Prepare
    const s = streams();
    const output = new Output(s.streams, true);
    output.result({ partial: true }, '');

    // Act
    output.error(new Error('later failure'));

    // Assess
    expect(JSON.parse(s.stdout())).toEqual({ partial: true });
  });

  it('dims secondary lines only with colour, and writes them plainly otherwise', () => {
    // Prepare
    const plain = streams();
    const coloured = streams();

    // Act
    new Output(plain.streams, false).note('  handled');
    new Output(coloured.streams, false, { color: true }).note('  handled');

    // Assess
    expect(plain.stderr()).toBe('  handled\n');
    expect(coloured.stderr()).toBe('\u001b[2m  handled\u001b[22m\n');
  });

  it('ends a body without a final newline on a terminal or pipe, and writes it exactly to a file', () => {
    // Prepare
    const pipe = captureStreams();
    const file = captureStreams({ stdoutIsFile: true });

    // Act
    for (const body of ['{"a":1}', 'line\n', '']) {
      new Output(pipe.streams, false).bytes(Buffer.from(body));
      new Output(file.streams, false).bytes(Buffer.from(body));
    }

    // Assess
    expect(pipe.stdout()).toBe('{"a":1}\nline\n');
    expect(file.stdout()).toBe('{"a":1}line\n');
  });
});

describe('Function: wantsColor', () => {
  it('colours a terminal stderr unless NO_COLOR or TERM=dumb', () => {
    // Prepare
    const terminal = captureStreams({ stderrIsTTY: true }).streams;
    const pipe = captureStreams().streams;

    // Act / Assess
    expect(wantsColor(terminal, {})).toBe(true);
    expect(wantsColor(terminal, { NO_COLOR: '1' })).toBe(false);
    expect(wantsColor(terminal, { TERM: 'dumb' })).toBe(false);
    expect(wantsColor(pipe, {})).toBe(false);
  });
});

describe('Function: renderList', () => {
  it('counts archives in the singular and the plural', () => {
    // Prepare
    const base = { endpoint: 'ep1', modelDataUrl: 's3://b/models/ep1/', models: [] };

    // Act
    const one = renderList({ ...base, archives: ['m/v.tar.gz'] }, { archives: false });
    const two = renderList({ ...base, archives: ['m/v.tar.gz', 'm/w.tar.gz'] }, { archives: false });

    // Assess
    expect(one).toContain('model data: s3://b/models/ep1/ (1 archive)\n');
    expect(two).toContain('model data: s3://b/models/ep1/ (2 archives)\n');
  });
});
