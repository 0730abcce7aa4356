import { describe, expect, it } from 'vitest';
import { compareSequencers, InvalidVersionInputError, isSequencer, versionFromSha256 } from '../../src/multimodel/versions';

describe('Function: versionFromSha256', () => {
  it('takes the first 16 hex digits, lower-cased', () => {
    expect(versionFromSha256('ABCDEF0123456789'.repeat(4))).toBe('abcdef0123456789');
  });

  it('refuses anything but 64 hex digits, naming the input', () => {
    expect(() => versionFromSha256('abc')).toThrow(InvalidVersionInputError);
    expect(() => versionFromSha256('g'.repeat(64))).toThrow(/sha256 "g+" is not 64 hex digits/);
  });
});

describe('Function: compareSequencers', () => {
  it('orders equal-length sequencers as hex, whatever the case', () => {
    expect(compareSequencers('0055AED6DCD90281E5', '0055AED6DCD90281E6')).toBeLessThan(0);
    expect(compareSequencers('0055aed6dcd90281e6', '0055AED6DCD90281E5')).toBeGreaterThan(0);
    expect(compareSequencers('0055AED6DCD90281E5', '0055aed6dcd90281e5')).toBe(0);
  });

  it('right-pads the shorter with zeros before comparing, as the S3 user guide says', () => {
    // "AB" is "AB0": equal, where a plain string comparison would call it smaller.
    expect(compareSequencers('AB', 'AB0')).toBe(0);
    // "B" is "B0", after "AB", where a numeric comparison would say 0xB < 0xAB.
    expect(compareSequencers('B', 'AB')).toBeGreaterThan(0);
    expect(compareSequencers('0055AED6DCD90281E5', '0055AED6DCD90281E50001')).toBeLessThan(0);
  });

  it('refuses values that are not hex strings, naming which', () => {
    expect(() => compareSequencers('xyz', '01')).toThrow(/sequencer a "xyz" is not a hex string/);
    expect(() => compareSequencers('01', '')).toThrow(/sequencer b "" is not a hex string/);
    expect(isSequencer('0A')).toBe(true);
    expect(isSequencer(12)).toBe(false);
  });
});
