"""kafka-python driver for the client tests: produce or read a partition without a group.

usage: kafka_python_client.py produce BOOTSTRAP TOPIC COUNT BASE_TIMESTAMP_MS
       kafka_python_client.py consume BOOTSTRAP TOPIC PARTITION COUNT
Output: one JSON object per message (consume) or per acknowledged send (produce).
"""
import json
import sys

from kafka import KafkaConsumer, KafkaProducer, TopicPartition


def produce(bootstrap, topic, count, base_ts):
    producer = KafkaProducer(bootstrap_servers=bootstrap, acks="all", linger_ms=5, api_version_auto_timeout_ms=10000)
    futures = []
    for i in range(count):
        key = None if i % 5 == 0 else f"key-{i}".encode()
        headers = [("seq", str(i).encode()), ("origin", b"kafka-python")]
        futures.append(producer.send(topic, key=key, value=f"value-{i}".encode(), headers=headers, timestamp_ms=base_ts + i))
    producer.flush(timeout=30)
    for future in futures:
        meta = future.get(timeout=30)
        print(json.dumps({"partition": meta.partition, "offset": meta.offset}))
    producer.close()


def consume(bootstrap, topic, partition, count):
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, enable_auto_commit=False, group_id=None, consumer_timeout_ms=15000)
    tp = TopicPartition(topic, partition)
    consumer.assign([tp])
    consumer.seek_to_beginning(tp)
    seen = 0
    for msg in consumer:
        print(json.dumps({
            "offset": msg.offset,
            "key": msg.key.decode() if msg.key is not None else None,
            "value": msg.value.decode() if msg.value is not None else None,
            "timestamp": msg.timestamp,
            "headers": {k: v.decode() for k, v in msg.headers},
        }), flush=True)
        seen += 1
        if seen >= count:
            break
    consumer.close()


if __name__ == "__main__":
    command = sys.argv[1]
    if command == "produce":
        produce(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    elif command == "consume":
        consume(sys.argv[2], sys.argv[3], int(sys.argv[4]), int(sys.argv[5]))
    else:
        sys.exit(f"unknown command {command}")
