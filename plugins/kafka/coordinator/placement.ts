/**
 * Where a group's coordinator lives, as Kafka places it: partition
 * abs(hashCode(groupId)) % offsetsTopicNumPartitions of __consumer_offsets, where hashCode is
 * Java's String.hashCode (UTF-16 code units, 32-bit overflow) and abs(MIN_VALUE) is 0.
 */

export function javaStringHashCode(s: string): number {
  let h = 0;
  for (let i = 0; i < s.length; i++) h = (Math.imul(31, h) + s.charCodeAt(i)) | 0;
  return h;
}

export function offsetsPartitionFor(groupId: string, offsetsTopicNumPartitions: number): number {
  const h = javaStringHashCode(groupId);
  // Kafka's Utils.abs: Integer.MIN_VALUE maps to 0, not to itself.
  const abs = h === -2147483648 ? 0 : Math.abs(h);
  return abs % offsetsTopicNumPartitions;
}
