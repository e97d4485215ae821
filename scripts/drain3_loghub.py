#!/usr/bin/env python3
"""Templates of Python Drain3 (default configuration) for each Loghub-2k dataset.

Feeds the `Content` column of each X_2k.log_structured.csv to a fresh Drain3 TemplateMiner
and writes OUT/X.txt: one line per input line, the final template of that line's cluster.
`cargo bench --bench template_mining -- --drain3 OUT` then puts Drain3's GA, PA and FGA
beside logwarden's, computed by the same Rust code.

    python3 -m venv /tmp/d3 && /tmp/d3/bin/pip install drain3
    /tmp/d3/bin/python scripts/drain3_loghub.py OUT [LOGHUB_DIR]
"""

import csv
import glob
import logging
import os
import sys

from drain3 import TemplateMiner


def main():
    logging.disable(logging.CRITICAL)
    out = sys.argv[1]
    here = os.path.dirname(os.path.abspath(__file__))
    folder = sys.argv[2] if len(sys.argv) > 2 else os.environ.get(
        "LOGHUB_DIR", os.path.join(here, "..", "tests", "data", "loghub-2k"))
    os.makedirs(out, exist_ok=True)
    for path in sorted(glob.glob(os.path.join(folder, "*_2k.log_structured.csv"))):
        name = os.path.basename(path)[: -len("_2k.log_structured.csv")]
        with open(path, newline="", encoding="utf-8") as f:
            lines = [row["Content"] for row in csv.DictReader(f)]
        miner = TemplateMiner()
        ids = [miner.add_log_message(line)["cluster_id"] for line in lines]
        templates = {c.cluster_id: c.get_template() for c in miner.drain.clusters}
        with open(os.path.join(out, f"{name}.txt"), "w", encoding="utf-8") as f:
            for i in ids:
                f.write(templates[i].replace("\n", " ") + "\n")
        print(f"{name}: {len(lines)} lines, {len(templates)} templates")


if __name__ == "__main__":
    main()
