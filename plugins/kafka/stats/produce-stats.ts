/** Production counts (KoP's MESSAGE_IN, BYTES_IN) by topic and partition, from batch headers. */
import { SeriesTable } from './series-table.js';

export class ProduceStats {
  readonly produced = new SeriesTable();

  /** A batch of `messages` records and `bytes` bytes was appended to `topic` (full name). */
  appended(topic: string, partition: number, messages: number, bytes: number): void {
    this.produced.add(topic, partition, null, messages, bytes, 1);
  }
}
