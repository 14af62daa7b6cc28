"""confluent-kafka (librdkafka) idempotent producer for the connection-cut test.

usage: confluent_idempotent_producer.py BOOTSTRAP TOPIC COUNT
Sends value "seq-<i>" for i in [0, COUNT) with enable.idempotence=true, then prints one JSON
line: how many were delivered and the delivery errors seen.
"""
import json
import sys

from confluent_kafka import Producer

bootstrap, topic, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
producer = Producer({
    "bootstrap.servers": bootstrap,
    "enable.idempotence": True,
    "linger.ms": 2,
    "batch.num.messages": 200,
    "message.timeout.ms": 60000,
    "reconnect.backoff.ms": 50,
    "reconnect.backoff.max.ms": 500,
})
delivered = 0
errors = []


def on_delivery(err, _msg):
    global delivered
    if err is None:
        delivered += 1
    else:
        errors.append(str(err))


for i in range(count):
    while True:
        try:
            producer.produce(topic, value=f"seq-{i}".encode(), partition=0, on_delivery=on_delivery)
            break
        except BufferError:
            producer.poll(0.05)
    producer.poll(0)
remaining = producer.flush(90)
print(json.dumps({"delivered": delivered, "errors": errors[:10], "undelivered": remaining}))
