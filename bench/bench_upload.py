"""Server-side time of a new 100-image upload (no probe), stage by stage, without the transport.

Calls the app's own callback (``recommend_callback``, what Gradio runs for ``/recommend``) on the
default graph with the encoders loaded (the Space loads them at start-up) and each method's
graph fit done once before (the Space does it in its warm-up), then times each stage the visitor
sees progress for: staging the files, reading/decoding them, describing, placing, ranking (fit or
no fit, rank, reasons, candidates), and building the page (tables, SVG plot, images, reasons
galleries). Stage boundaries are the callback's own progress reports, so nothing is replicated.

Prints each upload's stages, then the p50 of the totals of the first sending of each distinct
upload and of its repetition (the placement and ranking reused).

    PYTHONPATH=. python bench/bench_upload.py [--uploads 5] [--images 100] [--method mandc]
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


class StageClock:
    """A ``gr.Progress`` stand-in that records when each reported stage starts."""

    def __init__(self):
        self.marks: list[tuple[str, float]] = []

    def __call__(self, share: float, desc: str = "") -> None:
        self.marks.append((desc, time.perf_counter()))

    def stages(self, end: float) -> list[tuple[str, float]]:
        times = [t for _, t in self.marks] + [end]
        return [(name, times[i + 1] - times[i]) for i, (name, _) in enumerate(self.marks)]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _write_upload(folder: Path, n: int, domain: int) -> list[str]:
    """``n`` images of a mini-zoo domain the graph has not profiled, with ``.txt`` captions
    (the same sets as ``bench/bench_app.py``)."""
    from bench_app import _write_upload as write_upload  # bench/ is on the path when this runs

    return [str(path) for path in write_upload(folder, n, domain)]


def timed_upload(server, files: list[str], method: str) -> tuple[float, float, list]:
    """(wall seconds, CPU seconds of this process, stages) of one upload through the callback."""
    from mandc.ui.callbacks import recommend_callback

    clock = StageClock()
    cpu, start = time.process_time(), time.perf_counter()
    clock.marks.append(("staging the files", start))
    recommend_callback(server, None, None, files, top=10, method=method, progress=clock)
    end = time.perf_counter()
    # the callback's first report ("reading the graph") comes after nothing worth a stage
    return end - start, time.process_time() - cpu, clock.stages(end)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--uploads", type=int, default=5, help="distinct new uploads timed")
    parser.add_argument("--images", type=int, default=100)
    parser.add_argument("--method", default="mandc")
    args = parser.parse_args()

    scratch = tempfile.mkdtemp(prefix="mandc-bench-upload-")
    os.environ.setdefault("MANDC_HOME", scratch)  # an empty feature cache: nothing described
    from mandc.ui.service import GraphServer, _load_encoders

    try:
        from mandc.advise import fitted_for_new_targets
    except ImportError:  # a mandc before the inductive path (for before/after figures)
        fitted_for_new_targets = None

    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
          flush=True)
    start = time.perf_counter()
    server = GraphServer()
    server.default.costs()
    _load_encoders(server.default.graph)
    if fitted_for_new_targets is not None:
        fitted_for_new_targets(server.default.graph, args.method, fitted=server.default.fitted)
    print(f"start-up (graph, run records, encoders, upload fit): "
          f"{time.perf_counter() - start:.2f} s", flush=True)
    uploads = [_write_upload(Path(scratch) / f"upload-{k}", args.images, k)
               for k in range(args.uploads)]
    first, again = [], []
    for k, files in enumerate(uploads):
        for label, series in (("new", first), ("again", again)):
            wall, cpu, stages = timed_upload(server, files, args.method)
            series.append(wall)
            parts = ", ".join(f"{name} {seconds:.2f}" for name, seconds in stages)
            print(f"upload {k} {label}: {wall:.2f} s (CPU {cpu:.2f} s) = {parts}", flush=True)
    print(f"new {args.images}-image upload, no probe: p50 {_percentile(first, 0.5):.2f} s, "
          f"max {max(first):.2f} s over {len(first)} (first of them {first[0]:.2f} s)")
    print(f"the same upload again: p50 {_percentile(again, 0.5):.2f} s, max {max(again):.2f} s")
    print(f"load average at the end: {os.getloadavg()[0]:.1f}", flush=True)


if __name__ == "__main__":
    main()
