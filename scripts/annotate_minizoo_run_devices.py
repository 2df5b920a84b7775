"""Add the device to the shipped mini-zoo graph's run records, which predate the runner's
``device`` field: the README's "The mini zoo and its profiling" says which machine ran which
pairs (eight models on a lent NVIDIA H200 with 14 worker processes; ``generalist-tiny``,
``glyphs-deep`` and ``patterns-s`` profiled again on the 2-core CPU, one thread per pair, two
pairs at once). The finish times agree (every GPU pair finished between 19:02 and 19:08 UTC, the
CPU pairs after 19:15); the script checks that before writing. Run once from the repository root.
"""

import json
from pathlib import Path

RUNS = Path("mandc/graphs/minizoo/runs")
ON_CPU = {"generalist-tiny", "glyphs-deep", "patterns-s"}
GPU = "NVIDIA H200 (shared by 14 pairs at once)"
CPU = "CPU, 1 thread (2 pairs at once on 2 cores)"
SOURCE = "README: The mini zoo and its profiling (added after the run)"


def main() -> None:
    for path in sorted(RUNS.glob("*.json")):
        record = json.loads(path.read_text())
        on_cpu = record["model"] in ON_CPU
        finished = record["finished_at"]
        if on_cpu != (finished > "2026-11-28T19:15"):
            raise SystemExit(f"{path.name}: finished {finished}, which does not fit the README")
        record["device"] = CPU if on_cpu else GPU
        record["device_source"] = SOURCE
        path.write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")


if __name__ == "__main__":
    main()
