"""Latency of the Space as a client sees it: the app launched on a loopback port, called through
gradio_client on the default graph.

Prints: the first (cold) request for a profiled dataset, warm requests for it (median, p95),
a new 100-image upload (no probe), and 20 concurrent requests (p50, p95, max), once all on one
warm dataset and once spread over 20 datasets the server has not ranked yet.

    PYTHONPATH=. python bench/bench_app.py [--concurrent 20] [--warm 10]
"""

from __future__ import annotations

import argparse
import os
import socket
import statistics
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

os.environ.setdefault("GRADIO_ANALYTICS_ENABLED", "False")
os.environ.setdefault("HF_HUB_OFFLINE", "1")


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(share * (len(ordered) - 1)))]


def _timed(call) -> float:
    start = time.perf_counter()
    call()
    return time.perf_counter() - start


def _write_upload(folder: Path, n: int) -> list[Path]:
    """``n`` images of a mini-zoo domain the graph has not profiled, with ``.txt`` captions."""
    from mandc.minizoo.domains import HELD_OUT_DOMAINS, sample

    images, captions = sample(HELD_OUT_DOMAINS[0], n, size=64)
    paths = []
    for i, (image, caption) in enumerate(zip(images, captions)):
        image.save(folder / f"img_{i:04d}.png")
        (folder / f"img_{i:04d}.txt").write_text(caption)
        paths += [folder / f"img_{i:04d}.png", folder / f"img_{i:04d}.txt"]
    return paths


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--warm", type=int, default=10)
    args = parser.parse_args()

    import gradio_client

    from mandc.graph.defaults import resolve_graph
    from mandc.ui.app import build_app, launch_options

    scratch = tempfile.mkdtemp(prefix="mandc-bench-app-")
    os.environ.setdefault("GRADIO_TEMP_DIR", scratch)
    os.environ.setdefault("MANDC_HOME", scratch)
    app = build_app()
    app.launch(server_name="127.0.0.1", server_port=_free_port(), prevent_thread_lock=True,
               quiet=True, **launch_options())
    try:
        client = gradio_client.Client(app.local_url, verbose=False, download_files=False)

        def rank(dataset: str):
            return client.predict(dataset=dataset, top=5, api_name="/recommend")

        datasets = list(resolve_graph().dataset_ids)
        cold = _timed(lambda: rank(datasets[0]))
        warm = [_timed(lambda: rank(datasets[0])) for _ in range(args.warm)]
        print(f"profiled dataset, first request (fits the held-out method): {cold:.2f} s")
        print(f"profiled dataset, warm: median {statistics.median(warm):.3f} s, "
              f"p95 {_percentile(warm, 0.95):.3f} s over {args.warm}")

        folder = Path(scratch) / "upload"
        folder.mkdir()
        files = [gradio_client.handle_file(str(p)) for p in _write_upload(folder, 100)]
        upload = [_timed(lambda: client.predict(files=files, top=5, api_name="/recommend"))
                  for _ in range(2)]
        print(f"new 100-image upload, no probe: first {upload[0]:.2f} s, again "
              f"{upload[1]:.2f} s (encoders loaded, features cached)")

        for label, names in (("one warm dataset", [datasets[0]] * args.concurrent),
                             ("datasets not ranked before",
                              [datasets[1 + i % (len(datasets) - 1)]
                               for i in range(args.concurrent)])):
            def one(name):
                own = gradio_client.Client(app.local_url, verbose=False, download_files=False)
                start = time.perf_counter()
                own.predict(dataset=name, top=5, api_name="/recommend")
                return time.perf_counter() - start

            with ThreadPoolExecutor(args.concurrent) as pool:
                times = list(pool.map(one, names))
            print(f"{args.concurrent} concurrent requests, {label}: p50 "
                  f"{_percentile(times, 0.5):.2f} s, p95 {_percentile(times, 0.95):.2f} s, "
                  f"max {max(times):.2f} s")
    finally:
        app.close()


if __name__ == "__main__":
    main()
