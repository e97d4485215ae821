#!/usr/bin/env python3
"""Drain3 (default configuration) doing what `logwarden parse` does: plain lines in, one NDJSON
object per line out, in input order, with the line's template id and text.

Drain3 learns in one pass; the template a line gets is the one its cluster has after all lines
(as `logwarden parse` gives the final template a line was learnt into), so the ids are kept
and the objects written after the pass. Prints lines per second over wall and process CPU
time, for the pair `cargo bench --bench parse_pipeline` measures on our side.

    python3 -m venv /tmp/d3 && /tmp/d3/bin/pip install drain3
    /tmp/d3/bin/python scripts/drain3_parse.py INPUT OUTPUT
"""

import json
import logging
import sys
import time

from drain3 import TemplateMiner


def main():
    if len(sys.argv) != 3:
        sys.exit("usage: drain3_parse.py INPUT OUTPUT")
    logging.disable(logging.CRITICAL)
    wall, cpu = time.perf_counter(), time.process_time()
    miner = TemplateMiner()
    ids = []
    with open(sys.argv[1], encoding="utf-8", errors="replace") as f:
        messages = [line.rstrip("\n") for line in f]
    for m in messages:
        ids.append(miner.add_log_message(m)["cluster_id"])
    clusters = {c.cluster_id: c.get_template() for c in miner.drain.clusters}
    with open(sys.argv[2], "w", encoding="utf-8") as out:
        for n, (m, i) in enumerate(zip(messages, ids), 1):
            out.write(json.dumps({"line": n, "message": m, "template": clusters[i],
                                  "template_id": i}))
            out.write("\n")
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    print(f"drain3 parse: {len(messages)} lines, {len(clusters)} templates, "
          f"{len(messages) / wall:.0f} lines/s wall ({wall:.2f} s), "
          f"{len(messages) / cpu:.0f} lines/s CPU")


if __name__ == "__main__":
    main()
