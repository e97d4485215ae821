#!/usr/bin/env python3
"""Throughput of Python Drain3 (default configuration) on the Loghub-2k lines.

Feeds the `Content` column of the sixteen X_2k.log_structured.csv files, in the same order as
`cargo bench --bench template_mining`: once (16k lines, cold), 50 times (warm), and 50 times
with the digits shifted each round (fresh ids), and prints lines per second over wall time
and over process CPU time.

    python3 -m venv /tmp/d3 && /tmp/d3/bin/pip install drain3
    /tmp/d3/bin/python scripts/drain3_throughput.py [LOGHUB_DIR] [ROUNDS]
"""

import csv
import logging
import os
import sys
import time

from drain3 import TemplateMiner

DATASETS = ["Apache", "HDFS", "Hadoop", "Spark", "Zookeeper", "OpenStack", "Android", "HPC",
            "BGL", "HealthApp", "Linux", "Mac", "OpenSSH", "Proxifier", "Thunderbird", "Windows"]


def load(folder):
    lines = []
    for name in DATASETS:
        path = os.path.join(folder, f"{name}_2k.log_structured.csv")
        with open(path, newline="", encoding="utf-8") as f:
            lines.extend(row["Content"] for row in csv.DictReader(f))
    return lines


def rate(lines, rounds):
    miner = TemplateMiner()
    wall, cpu = time.perf_counter(), time.process_time()
    for _ in range(rounds):
        for line in lines:
            miner.add_log_message(line)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    n = len(lines) * rounds
    return n / wall, n / cpu, len(miner.drain.clusters)


def shift_digits(line, r):
    """Round r of the fresh-ids stream: every digit d becomes (d + r) % 10."""
    table = str.maketrans("0123456789", "".join(str((d + r) % 10) for d in range(10)))
    return line.translate(table)


def main():
    logging.disable(logging.CRITICAL)
    here = os.path.dirname(os.path.abspath(__file__))
    folder = sys.argv[1] if len(sys.argv) > 1 and sys.argv[1] else os.environ.get(
        "LOGHUB_DIR", os.path.join(here, "..", "tests", "data", "loghub-2k"))
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 50
    lines = load(folder)
    print(f"{'stream':<30} {'lines/s wall':>12} {'lines/s on-cpu':>14} {'templates':>9}")
    fresh = [shift_digits(l, r) for r in range(rounds) for l in lines]
    runs = [
        (f"{len(lines)} lines, cold", lines, 1),
        (f"{len(lines)} lines x {rounds}, warm", lines, rounds),
        (f"{len(lines)} x {rounds}, fresh ids", fresh, 1),
    ]
    for label, stream, r in runs:
        wall, cpu, n = rate(stream, r)
        print(f"{label:<30} {wall:>12.0f} {cpu:>14.0f} {n:>9}")


if __name__ == "__main__":
    main()
