"""A consumer-group member for the client tests, with kafka-python or confluent-kafka.

usage: group_consumer.py LIB BOOTSTRAP GROUP TOPIC COUNT TIMEOUT_S [key=value ...]
  LIB        kafka-python | confluent
  key=value  extra client settings, e.g. group.instance.id=a
             partition.assignment.strategy=cooperative-sticky
             session.timeout.ms=6000 client.id=a
             (kafka-python takes only session.timeout.ms and client.id)
Prints one JSON line per event: {"event": "assigned"|"revoked", "partitions": [...]},
{"event": "message", "partition", "offset", "value"}, and last {"event": "done", "count"}.
Consumes until COUNT messages arrived, TIMEOUT_S passed or SIGINT/SIGTERM arrived, commits, and
closes (a clean close: the member leaves the group, unless it is static).
"""
import json
import signal
import sys
import time

stopping = False


def stop(signum, frame):
    global stopping
    stopping = True


signal.signal(signal.SIGINT, stop)
signal.signal(signal.SIGTERM, stop)


def emit(**fields):
    print(json.dumps(fields), flush=True)


def run_confluent(bootstrap, group, topic, count, timeout, extra):
    from confluent_kafka import Consumer

    conf = {
        "bootstrap.servers": bootstrap,
        "group.id": group,
        "auto.offset.reset": "earliest",
        "enable.auto.commit": False,
        "session.timeout.ms": 6000,
        "heartbeat.interval.ms": 500,
    }
    conf.update(extra)
    consumer = Consumer(conf)
    cooperative = conf.get("partition.assignment.strategy") == "cooperative-sticky"

    def on_assign(c, partitions):
        emit(event="assigned", partitions=sorted(p.partition for p in partitions))
        if cooperative:
            c.incremental_assign(partitions)
        else:
            c.assign(partitions)

    def on_revoke(c, partitions):
        emit(event="revoked", partitions=sorted(p.partition for p in partitions))
        if cooperative:
            c.incremental_unassign(partitions)
        else:
            c.unassign()

    consumer.subscribe([topic], on_assign=on_assign, on_revoke=on_revoke)
    seen = 0
    deadline = time.time() + timeout
    while seen < count and time.time() < deadline and not stopping:
        msg = consumer.poll(0.2)
        if msg is None or msg.error():
            continue
        emit(event="message", partition=msg.partition(), offset=msg.offset(), value=msg.value().decode())
        consumer.commit(message=msg, asynchronous=False)
        seen += 1
    consumer.close()
    emit(event="done", count=seen)


def run_kafka_python(bootstrap, group, topic, count, timeout, extra):
    from kafka import KafkaConsumer, ConsumerRebalanceListener

    class Listener(ConsumerRebalanceListener):
        def on_partitions_assigned(self, assigned):
            emit(event="assigned", partitions=sorted(p.partition for p in assigned))

        def on_partitions_revoked(self, revoked):
            emit(event="revoked", partitions=sorted(p.partition for p in revoked))

    consumer = KafkaConsumer(
        bootstrap_servers=bootstrap,
        group_id=group,
        auto_offset_reset="earliest",
        enable_auto_commit=False,
        session_timeout_ms=int(extra.get("session.timeout.ms", 6000)),
        heartbeat_interval_ms=500,
        **({"client_id": extra["client.id"]} if "client.id" in extra else {}),
    )
    consumer.subscribe([topic], listener=Listener())
    seen = 0
    deadline = time.time() + timeout
    while seen < count and time.time() < deadline and not stopping:
        batches = consumer.poll(timeout_ms=200)
        for records in batches.values():
            for msg in records:
                emit(event="message", partition=msg.partition, offset=msg.offset, value=msg.value.decode())
                seen += 1
        if batches:
            consumer.commit()
    consumer.close()
    emit(event="done", count=seen)


if __name__ == "__main__":
    lib, bootstrap, group, topic = sys.argv[1:5]
    count, timeout = int(sys.argv[5]), float(sys.argv[6])
    extra = dict(arg.split("=", 1) for arg in sys.argv[7:])
    if lib == "confluent":
        run_confluent(bootstrap, group, topic, count, timeout, extra)
    elif lib == "kafka-python":
        run_kafka_python(bootstrap, group, topic, count, timeout, extra)
    else:
        sys.exit(f"unknown library {lib}")
