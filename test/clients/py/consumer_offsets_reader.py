"""Reads __consumer_offsets with kafka-python (assign(), no group) and decodes every record with
Kafka's key and value schemas (group-coordinator/*.json), written here independently of Koppa.

usage: consumer_offsets_reader.py BOOTSTRAP PARTITIONS
Prints one JSON line per record: {"partition", "offset", "key": {...}, "value": {...} | null}.
"""
import json
import struct
import sys

from kafka import KafkaConsumer, TopicPartition


class Buf:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def take(self, fmt):
        (value,) = struct.unpack_from(fmt, self.data, self.pos)
        self.pos += struct.calcsize(fmt)
        return value

    def string(self, nullable=False):
        n = self.take(">h")
        if n < 0:
            assert nullable, "null in a non-nullable string"
            return None
        s = self.data[self.pos:self.pos + n].decode()
        self.pos += n
        return s

    def bytes_(self):
        n = self.take(">i")
        b = self.data[self.pos:self.pos + n]
        self.pos += n
        return b.hex()


def decode_key(data):
    b = Buf(data)
    version = b.take(">h")
    if version in (0, 1):
        return {"type": "offset", "version": version, "group": b.string(), "topic": b.string(), "partition": b.take(">i")}
    if version == 2:
        return {"type": "group", "version": version, "group": b.string()}
    return {"type": "unknown", "version": version}


def decode_offset_value(data):
    b = Buf(data)
    version = b.take(">h")
    assert version <= 3, f"offset value v{version} is flexible; not written by Kafka 3.x"
    value = {"version": version, "offset": b.take(">q")}
    if version >= 3:
        value["leaderEpoch"] = b.take(">i")
    value["metadata"] = b.string()
    value["commitTimestamp"] = b.take(">q")
    if version == 1:
        value["expireTimestamp"] = b.take(">q")
    assert b.pos == len(data), "trailing bytes"
    return value


def decode_group_value(data):
    b = Buf(data)
    version = b.take(">h")
    assert version <= 3, f"group value v{version} is flexible; not written by Kafka 3.x"
    value = {"version": version, "protocolType": b.string(), "generation": b.take(">i"),
             "protocol": b.string(True), "leader": b.string(True)}
    if version >= 2:
        value["currentStateTimestamp"] = b.take(">q")
    members = []
    for _ in range(b.take(">i")):
        m = {"memberId": b.string()}
        if version >= 3:
            m["groupInstanceId"] = b.string(True)
        m["clientId"] = b.string()
        m["clientHost"] = b.string()
        if version >= 1:
            m["rebalanceTimeout"] = b.take(">i")
        m["sessionTimeout"] = b.take(">i")
        m["subscription"] = b.bytes_()
        m["assignment"] = b.bytes_()
        members.append(m)
    value["members"] = members
    assert b.pos == len(data), "trailing bytes"
    return value


if __name__ == "__main__":
    bootstrap, partitions = sys.argv[1], int(sys.argv[2])
    consumer = KafkaConsumer(bootstrap_servers=bootstrap, group_id=None, enable_auto_commit=False, consumer_timeout_ms=3000)
    tps = [TopicPartition("__consumer_offsets", p) for p in range(partitions)]
    consumer.assign(tps)
    consumer.seek_to_beginning(*tps)
    for msg in consumer:
        key = decode_key(msg.key)
        value = None
        if msg.value is not None:
            value = decode_offset_value(msg.value) if key["type"] == "offset" else decode_group_value(msg.value)
        print(json.dumps({"partition": msg.partition, "offset": msg.offset, "key": key, "value": value}), flush=True)
    consumer.close()
