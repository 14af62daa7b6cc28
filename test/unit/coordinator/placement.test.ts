import { describe, expect, it } from 'vitest';
import {
  javaStringHashCode,
  offsetsPartitionFor,
} from '../../../plugins/kafka/coordinator/placement.js';

describe('coordinator placement', () => {
  it("matches Java's String.hashCode", () => {
    // Values printed by the JVM (javac/java 17): "...".hashCode().
    expect(javaStringHashCode('')).toBe(0);
    expect(javaStringHashCode('hello')).toBe(99162322);
    expect(javaStringHashCode('my-consumer-group')).toBe(1513705513);
    expect(javaStringHashCode('polygenelubricants')).toBe(-2147483648);
    // UTF-16 code units, as Java counts them: a character outside the BMP is two.
    expect(javaStringHashCode('😀')).toBe(1772899);
  });

  it('places groups as Kafka does, with abs(MIN_VALUE) as 0', () => {
    expect(offsetsPartitionFor('hello', 50)).toBe(99162322 % 50);
    expect(offsetsPartitionFor('my-consumer-group', 50)).toBe(13);
    expect(offsetsPartitionFor('polygenelubricants', 50)).toBe(0);
  });
});
