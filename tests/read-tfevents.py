#!/usr/bin/env python3
"""read-tfevents.py - an independent reader of gpool's TensorBoard event files,
for tests/tensorboard.sh:

    read-tfevents.py RESULTS_DIR    every run of runs.csv against epochs.csv
    read-tfevents.py --file FILE    only read FILE (its CRCs and messages)

The TFRecord framing and its CRC-32C are checked here, with a CRC written
from the Castagnoli polynomial (not gpool's code); the Event and Summary
messages are decoded by the protobuf runtime (Debian's python3-protobuf)
from message definitions made here, field numbers as in TensorFlow's
event.proto and summary.proto. Checks: the first event is file_version
"brain.Event:2"; then one event per epoch, steps 1, 2, ... in order, whose
simple_value scalars equal epochs.csv's losses, accuracies, lr and
img_per_s up to float32 rounding and the CSV's printed digits, a column
that is empty there (no validation split) absent from the event. Prints one
line per run (or the problem) and exits 0 when all agree, 1 otherwise.
"""
import csv
import math
import os
import struct
import sys

from google.protobuf import descriptor_pb2, descriptor_pool, message_factory

TAGS = {  # the event's tag -> epochs.csv's column
    "loss/train": "train_loss", "loss/val": "val_loss", "loss/test": "test_loss",
    "accuracy/train": "train_acc", "accuracy/val": "val_acc", "accuracy/test": "test_acc",
    "lr": "lr", "img_per_s": "img_per_s",
}
EVENTS_NAME = "events.out.tfevents.gpool"


def crc32c(data):
    crc = 0xFFFFFFFF
    for byte in data:
        crc ^= byte
        for _ in range(8):
            crc = (crc >> 1) ^ (0x82F63B78 if crc & 1 else 0)
    return crc ^ 0xFFFFFFFF


def masked(crc):
    return (((crc >> 15) | (crc << 17)) + 0xA282EAD8) & 0xFFFFFFFF


def event_class():
    """tensorflow.Event with the fields a scalar uses (and Summary, Summary.Value)."""
    F = descriptor_pb2.FieldDescriptorProto
    fdp = descriptor_pb2.FileDescriptorProto(name="gpool_test_event.proto", package="tbtest",
                                             syntax="proto3")

    def message(name, fields):
        m = fdp.message_type.add(name=name)
        for fname, number, ftype, label, type_name in fields:
            f = m.field.add(name=fname, number=number, type=ftype, label=label)
            if type_name:
                f.type_name = type_name
        return m

    opt, rep = F.LABEL_OPTIONAL, F.LABEL_REPEATED
    message("Value", [("node_name", 7, F.TYPE_STRING, opt, None),
                      ("tag", 1, F.TYPE_STRING, opt, None),
                      ("simple_value", 2, F.TYPE_FLOAT, opt, None)])
    message("Summary", [("value", 1, F.TYPE_MESSAGE, rep, ".tbtest.Value")])
    message("Event", [("wall_time", 1, F.TYPE_DOUBLE, opt, None),
                      ("step", 2, F.TYPE_INT64, opt, None),
                      ("file_version", 3, F.TYPE_STRING, opt, None),
                      ("summary", 5, F.TYPE_MESSAGE, opt, ".tbtest.Summary")])
    pool = descriptor_pool.DescriptorPool()
    pool.Add(fdp)
    desc = pool.FindMessageTypeByName("tbtest.Event")
    if hasattr(message_factory, "GetMessageClass"):
        return message_factory.GetMessageClass(desc)
    return message_factory.MessageFactory(pool).GetPrototype(desc)


def records(path):
    """The records of a TFRecord file, their CRCs checked (ValueError names the offset)."""
    with open(path, "rb") as fp:
        data = fp.read()
    out, pos = [], 0
    while pos < len(data):
        if len(data) - pos < 12:
            raise ValueError(f"{path}: {len(data) - pos} bytes at offset {pos}: a cut record")
        head = data[pos:pos + 8]
        (length,) = struct.unpack("<Q", head)
        (len_crc,) = struct.unpack("<I", data[pos + 8:pos + 12])
        if len_crc != masked(crc32c(head)):
            raise ValueError(f"{path}: offset {pos}: the length's CRC does not match")
        body = data[pos + 12:pos + 12 + length]
        if len(body) != length or len(data) < pos + 16 + length:
            raise ValueError(f"{path}: offset {pos}: a record of {length} bytes is cut")
        (data_crc,) = struct.unpack("<I", data[pos + 12 + length:pos + 16 + length])
        if data_crc != masked(crc32c(body)):
            raise ValueError(f"{path}: offset {pos}: the data's CRC does not match")
        out.append(body)
        pos += 16 + length
    return out


def read_events(path):
    Event = event_class()
    events = []
    for body in records(path):
        ev = Event()
        ev.ParseFromString(body)
        events.append(ev)
    if not events or events[0].file_version != "brain.Event:2":
        raise ValueError(f"{path}: the first event is not file_version brain.Event:2")
    return events


def close_enough(value, text):
    """value (a float32) against epochs.csv's text: float32 rounding plus half
    a unit of the last printed digit."""
    want = float(text)
    digits = len(text.split(".")[1]) if "." in text and "e" not in text.lower() else 6
    return abs(value - want) <= 0.5 * 10 ** -digits + 1e-6 * abs(want) + 1e-12


def check_run(run_dir, rows):
    """Problems of run_dir's event file against its epochs.csv rows."""
    events = read_events(os.path.join(run_dir, EVENTS_NAME))[1:]
    problems = []
    if [e.step for e in events] != [int(r["epoch"]) for r in rows]:
        return [f"steps {[e.step for e in events]}, epochs.csv has "
                f"{[int(r['epoch']) for r in rows]}"]
    for ev, row in zip(events, rows):
        got = {v.tag: v.simple_value for v in ev.summary.value}
        want = {tag: row[col] for tag, col in TAGS.items() if row[col] not in ("", "nan")}
        if set(got) != set(want):
            problems.append(f"epoch {ev.step}: tags {sorted(got)}, expected {sorted(want)}")
            continue
        for tag, text in want.items():
            if not close_enough(got[tag], text):
                problems.append(f"epoch {ev.step}: {tag} {got[tag]!r}, epochs.csv {text}")
        if not math.isfinite(ev.wall_time) or ev.wall_time < 1e9:
            problems.append(f"epoch {ev.step}: wall_time {ev.wall_time} is no time")
    return problems


def main(argv):
    if crc32c(b"123456789") != 0xE3069283:   # the CRC-32C check value
        print("read-tfevents: the reader's own CRC-32C is wrong")
        return 1
    if len(argv) == 3 and argv[1] == "--file":
        try:
            print(f"{argv[2]}: {len(read_events(argv[2]))} events")
        except ValueError as e:
            print(e)
            return 1
        return 0
    results = argv[1]
    with open(os.path.join(results, "runs.csv"), newline="") as fp:
        runs = [r["run_id"] for r in csv.DictReader(fp)]
    with open(os.path.join(results, "epochs.csv"), newline="") as fp:
        epochs = list(csv.DictReader(fp))
    failed = 0
    for run in runs:
        rows = [r for r in epochs if r["run_id"] == run]
        try:
            problems = check_run(os.path.join(results, "runs", run), rows)
        except (OSError, ValueError) as e:
            problems = [str(e)]
        for p in problems:
            print(f"run {run}: {p}")
        if not problems:
            print(f"run {run}: {len(rows)} epochs agree with epochs.csv")
        failed |= bool(problems)
    return 1 if failed or not runs else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
