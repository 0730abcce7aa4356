import { describe, expect, it } from 'vitest';
import { processOutput, filterInput, recordFormat, RecordProcessingError } from '../../../src/local/sagemaker/transform/data-processing';
import { JsonPathError, parseJsonPath } from '../../../src/local/sagemaker/transform/json-path';
import { joinRecords, lineBatches, LineTooLargeError, recordIOFrame, RecordFormatError, splitRecords } from '../../../src/local/sagemaker/transform/records';
import { outputLocation } from '../../../src/local/sagemaker/transform/input-objects';

describe('Function: parseJsonPath', () => {
  it('selects children, indexes, unions, slices and wildcards as SageMaker documents them', () => {
    const doc = { a: { b: 1 }, list: [10, 20, 30, 40], 'odd name': 2 };
    expect(parseJsonPath('$').select(doc)).toBe(doc);
    expect(parseJsonPath('$.a.b').select(doc)).toBe(1);
    expect(parseJsonPath("$['odd name']").select(doc)).toBe(2);
    expect(parseJsonPath("$['a','odd name']").select(doc)).toEqual([{ b: 1 }, 2]);
    expect(parseJsonPath('$.list[0]').select(doc)).toBe(10);
    expect(parseJsonPath('$.list[-1]').select(doc)).toBe(40);
    expect(parseJsonPath('$.list[0,-1]').select(doc)).toEqual([10, 40]);
    expect(parseJsonPath('$.list[1:]').select(doc)).toEqual([20, 30, 40]);
    expect(parseJsonPath('$.list[:-2]').select(doc)).toEqual([10, 20]);
    expect(parseJsonPath('$.list[*]').select(doc)).toEqual([10, 20, 30, 40]);
    expect(parseJsonPath('$.*').select({ x: 1, y: 2 })).toEqual([1, 2]);
    expect(parseJsonPath('$.missing').select(doc)).toBeUndefined();
  });

  it('refuses deep scans, filters, steps and malformed brackets, naming the position', () => {
    expect(() => parseJsonPath('a')).toThrow(JsonPathError);
    expect(() => parseJsonPath('a')).toThrow(/at character 1: must start with \$/);
    expect(() => parseJsonPath('$..a')).toThrow(/at character 2: deep scan/);
    expect(() => parseJsonPath('$[?(@.a)]')).toThrow(/filter and script expressions are not supported/);
    expect(() => parseJsonPath('$[0:4:2]')).toThrow(/steps other than 1/);
    expect(() => parseJsonPath('$[a]')).toThrow(/brackets take indexes/);
    expect(() => parseJsonPath('$[0')).toThrow(/no closing \]/);
    expect(() => parseJsonPath('$x')).toThrow(/unexpected "x"/);
  });
});

describe('Function: splitRecords / joinRecords', () => {
  it('splits lines (a last line without newline is a record), and keeps None whole', () => {
    expect(splitRecords(Buffer.from('a\nb\n'), 'Line').map(String)).toEqual(['a', 'b']);
    expect(splitRecords(Buffer.from('a\n\nb'), 'Line').map(String)).toEqual(['a', '', 'b']);
    expect(splitRecords(Buffer.from('a\nb'), 'None').map(String)).toEqual(['a\nb']);
    expect(splitRecords(Buffer.alloc(0), 'Line')).toEqual([]);
    expect(joinRecords([Buffer.from('a'), Buffer.from('b')], 'Line').toString()).toBe('a\nb\n');
  });

  it('reads and writes RecordIO frames, joining continued records, and names a broken frame', () => {
    // Prepare
    const records = [Buffer.from('one'), Buffer.from('four'), Buffer.alloc(0)];
    const magic = Buffer.alloc(4);
    magic.writeUInt32LE(0xced7230a);
    const part = (flag: number, data: Buffer) => {
      const frame = recordIOFrame(data);
      frame.writeUInt32LE(((flag << 29) | data.length) >>> 0, 4);
      return frame;
    };
    const continued = Buffer.concat([part(1, Buffer.from('ab')), part(3, Buffer.from('cd'))]);

    // Act
    const roundTrip = splitRecords(joinRecords(records, 'RecordIO'), 'RecordIO');
    const joined = splitRecords(continued, 'RecordIO');

    // Assess
    expect(roundTrip.map(String)).toEqual(['one', 'four', '']);
    expect(joined).toEqual([Buffer.concat([Buffer.from('ab'), magic, Buffer.from('cd')])]);
    expect(() => splitRecords(Buffer.from('not recordio'), 'RecordIO')).toThrow(RecordFormatError);
    expect(() => splitRecords(Buffer.from('not recordio'), 'RecordIO')).toThrow(/no record magic 0xced7230a at offset 0/);
    expect(() => splitRecords(recordIOFrame(Buffer.from('abcdef')).subarray(0, 10), 'RecordIO')).toThrow(/says 6 bytes, only 2 remain/);
  });
});

describe('Function: filterInput / processOutput', () => {
  it('filters CSV records as arrays of cells and JSON records as documents', () => {
    expect(filterInput(Buffer.from('id,1,"2,5",3'), 'csv', parseJsonPath('$[1:]')).toString()).toBe('1,"2,5",3');
    expect(filterInput(Buffer.from('{"features":[1,2],"id":7}'), 'json', parseJsonPath('$.features')).toString()).toBe('[1,2]');
  });

  it('joins CSV by appending cells and JSON under SageMakerOutput (or SageMakerInput for non-objects)', () => {
    const plan = (inputFormat: 'csv' | 'json', outputFormat: 'csv' | 'json', filter?: string) => ({
      inputFormat,
      outputFormat,
      join: true,
      outputFilter: filter ? parseJsonPath(filter) : undefined,
    });
    expect(processOutput(Buffer.from('a,1,2'), Buffer.from('0.5,0.7\n'), plan('csv', 'csv')).toString()).toBe('a,1,2,0.5,0.7');
    expect(processOutput(Buffer.from('a,1,2'), Buffer.from('0.5,0.7\n'), plan('csv', 'csv', '$[0,-1]')).toString()).toBe('a,0.7');
    expect(processOutput(Buffer.from('{"id":1}'), Buffer.from('{"p":2}'), plan('json', 'json')).toString()).toBe('{"id":1,"SageMakerOutput":{"p":2}}');
    expect(processOutput(Buffer.from('[1,2]'), Buffer.from('3'), plan('json', 'json')).toString()).toBe('{"SageMakerInput":[1,2],"SageMakerOutput":3}');
    expect(() => processOutput(Buffer.from('{'), Buffer.from('3'), plan('json', 'json'))).toThrow(RecordProcessingError);
  });

  it('tells the record formats apart by content type', () => {
    expect(recordFormat('text/csv; charset=utf-8')).toBe('csv');
    expect(recordFormat('application/jsonlines')).toBe('json');
    expect(recordFormat('application/x-image')).toBeUndefined();
  });
});

describe('Function: outputLocation', () => {
  it('puts <relative key>.out under the output path, with or without its trailing slash', () => {
    expect(outputLocation('s3://b/out', 'x/a.csv')).toEqual({ bucket: 'b', key: 'out/x/a.csv.out' });
    expect(outputLocation('s3://b/out/', 'a.csv')).toEqual({ bucket: 'b', key: 'out/a.csv.out' });
    expect(outputLocation('s3://b', 'a.csv')).toEqual({ bucket: 'b', key: 'a.csv.out' });
  });
});

/** The batches lineBatches must equal: records split, packed greedily under the limit, joined. */
function referenceBatches(data: Buffer, max: number, singleRecord: boolean): Array<{ body: string; first: number; count: number }> {
  const records = splitRecords(data, 'Line');
  const batches: Array<{ body: string; first: number; count: number }> = [];
  let current: Buffer[] = [];
  let size = 0;
  let first = 1;
  records.forEach((record, i) => {
    if (current.length > 0 && (singleRecord || size + record.length + 1 > max)) {
      batches.push({ body: joinRecords(current, 'Line').toString('latin1'), first, count: current.length });
      current = [];
      size = 0;
      first = i + 1;
    }
    current.push(record);
    size += record.length + 1;
  });
  if (current.length > 0) batches.push({ body: joinRecords(current, 'Line').toString('latin1'), first, count: current.length });
  return batches;
}

describe('Function: lineBatches', () => {
  it('gives the bodies that splitting, packing under the limit and joining give, for any limit and either strategy', () => {
    // Prepare: empty lines, CRLF endings, a last line without its newline, lines of many lengths.
    let seed = 11;
    const next = () => (seed = (seed * 1103515245 + 12345) % 2147483648) / 2147483648;
    const lines = Array.from({ length: 400 }, (_, i) => (i % 37 === 0 ? '' : 'x'.repeat(Math.floor(next() * 60)) + (i % 11 === 0 ? '\r' : '')));
    const inputs = [Buffer.from(lines.join('\n') + '\n', 'latin1'), Buffer.from(lines.join('\n'), 'latin1'), Buffer.from('\n\n'), Buffer.from('one')];

    // Act
    const cases = inputs.flatMap((data) =>
      [61, 62, 100, 1000, 1e9].flatMap((max) =>
        [false, true].map((single) => ({
          got: lineBatches(data, max, single).map((b) => ({ body: b.body.toString('latin1'), first: b.first, count: b.count })),
          want: referenceBatches(data, max, single),
        })),
      ),
    );

    // Assess
    for (const { got, want } of cases) expect(got).toEqual(want);
  });

  it('cuts views of the data rather than copies, except to add the newline a last line lacks', () => {
    // Prepare
    const data = Buffer.from('a,1\nb,2\nc,3');

    // Act
    const [whole, tail] = lineBatches(data, 8, false);

    // Assess
    expect(whole!.body.toString()).toBe('a,1\nb,2\n');
    expect(whole!.body.buffer).toBe(data.buffer);
    expect(tail!.body.toString()).toBe('c,3\n');
    expect(lineBatches(Buffer.alloc(0), 8, false)).toEqual([]);
  });

  it('names the first line that does not fit on its own, newline counted', () => {
    // Act
    const error = (() => {
      try {
        lineBatches(Buffer.from('ok\nfine\nmuch too long\nalso too long\n'), 8, false);
      } catch (e) {
        return e;
      }
      return undefined;
    })();

    // Assess
    expect(error).toBeInstanceOf(LineTooLargeError);
    expect(error).toMatchObject({ line: 3, bytes: 14, message: 'line 3 is 14 bytes' });
  });
});
