// A kafkajs consumer-group member in its own process, so tests can kill it (SIGKILL) like a
// crashed client. Prints JSON lines: {"event":"joined","memberId","partitions"} and
// {"event":"message","partition","offset"}.
// usage: kafkajs-member.ts BOOTSTRAP GROUP TOPIC SESSION_TIMEOUT_MS
import { Kafka, logLevel } from 'kafkajs';

const [bootstrap, groupId, topic, sessionTimeout] = process.argv.slice(2);
const kafka = new Kafka({
  brokers: bootstrap.split(','),
  clientId: 'kafkajs-member',
  logLevel: logLevel.NOTHING,
});
const consumer = kafka.consumer({
  groupId,
  sessionTimeout: Number(sessionTimeout),
  heartbeatInterval: 300,
  maxWaitTimeInMs: 500,
});
consumer.on(consumer.events.GROUP_JOIN, (e) => {
  const partitions = e.payload.memberAssignment[topic] ?? [];
  console.log(JSON.stringify({ event: 'joined', memberId: e.payload.memberId, partitions }));
});
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({
  eachMessage: async ({ partition, message }) => {
    console.log(JSON.stringify({ event: 'message', partition, offset: Number(message.offset) }));
  },
});
