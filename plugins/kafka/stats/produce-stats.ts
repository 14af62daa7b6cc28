/** Production counts (KoP's MESSAGE_IN, BYTES_IN) by topic and partition, from batch headers. */
import type { SeriesPolicy } from './series-policy.js';
import { SeriesTable } from './series-table.js';

export class ProduceStats {
  readonly produced: SeriesTable;

  constructor(policy?: SeriesPolicy) {
    this.produced = new SeriesTable(policy);
  }

  /** A batch of `messages` records and `bytes` bytes was appended to `topic` (full name). */
  appended(topic: string, partition: number, messages: number, bytes: number): void {
    this.produced.add(topic, partition, null, messages, bytes, 1);
  }
}
