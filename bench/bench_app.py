"""Latency of the Space as a client sees it: the app launched on a loopback port, called through
gradio_client on the default graph.

Prints, each as p50 / p95 where it is a series:

- a profiled dataset: the first request (fits the method held out), then warm requests;
- the app's first upload (the bundled example; it loads the encoders, which the Space loads at
  start), then new 100-image uploads never seen before (no probe: described, placed among the
  profiled datasets, the method fitted) and each of them again (placement and fit reused);
- 20 concurrent requests, once all on one warm dataset and once spread over datasets the server
  has not ranked yet.

For the uploads it also prints the server's side: the callback's own time (what the server
does once Gradio has received the files) and its stages (the progress it reports: loading,
describing, placing, ranking, preparing the page); the rest of the client's time is the
transport (gradio_client encoding and posting 200 files, Gradio storing them). The client
runs in this process, so its CPU figure counts both sides.

    PYTHONPATH=. python bench/bench_app.py [--concurrent 20] [--warm 10] [--uploads 3] [--zip]
"""

from __future__ import annotations

import argparse
import os
import socket
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


def _write_upload(folder: Path, n: int, domain: int) -> list[Path]:
    """``n`` images of a mini-zoo domain the graph has not profiled, with ``.txt`` captions."""
    from mandc.minizoo.domains import HELD_OUT_DOMAINS, sample

    folder.mkdir()
    images, captions = sample(HELD_OUT_DOMAINS[domain % len(HELD_OUT_DOMAINS)], n, size=64,
                              seed=domain // len(HELD_OUT_DOMAINS))
    paths = []
    for i, (image, caption) in enumerate(zip(images, captions)):
        image.save(folder / f"img_{i:04d}.png")
        (folder / f"img_{i:04d}.txt").write_text(caption)
        paths += [folder / f"img_{i:04d}.png", folder / f"img_{i:04d}.txt"]
    return paths


class ServerSide:
    """Wraps the app's ``recommend_callback`` to time it and record its progress reports."""

    def __init__(self):
        import mandc.ui.app

        self.calls: list[tuple[float, list[tuple[str, float]]]] = []
        self._callback = mandc.ui.app.recommend_callback
        mandc.ui.app.recommend_callback = self

    def __call__(self, *args, **kwargs):
        from bench_upload import StageClock

        clock, progress = StageClock(), args[9]

        def both(share, desc=""):
            clock(share, desc)
            progress(share, desc=desc)

        start = time.perf_counter()
        clock.marks.append(("staging the files", start))
        try:
            return self._callback(*args[:9], both, *args[10:], **kwargs)
        finally:
            end = time.perf_counter()
            self.calls.append((end - start, clock.stages(end)))

    def last(self) -> str:
        total, stages = self.calls[-1]
        parts = ", ".join(f"{name} {seconds:.2f}" for name, seconds in stages)
        return f"server {total:.2f} s = {parts}"


def _series(label: str, times: list[float], cpu: list[float] | None = None) -> None:
    """One line of percentiles; ``cpu``: the process's CPU seconds per request, which says how
    much of the wall time was work and how much waiting for a shared machine's cores."""
    used = f", CPU p50 {_percentile(cpu, 0.5):.2f} s" if cpu else ""
    print(f"{label}: p50 {_percentile(times, 0.5):.2f} s, p95 {_percentile(times, 0.95):.2f} s "
          f"(max {max(times):.2f} s) over {len(times)}{used}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--concurrent", type=int, default=20)
    parser.add_argument("--warm", type=int, default=10)
    parser.add_argument("--uploads", type=int, default=3,
                        help="distinct new 100-image uploads timed (each also sent again)")
    parser.add_argument("--zip", action="store_true",
                        help="send each upload as one zip instead of 200 files: gradio_client "
                        "opens a new HTTP client (and TLS context) for every file it uploads")
    args = parser.parse_args()

    import gradio_client

    from mandc.graph.defaults import resolve_graph
    from mandc.ui.app import build_app, launch_options

    scratch = tempfile.mkdtemp(prefix="mandc-bench-app-")
    os.environ.setdefault("GRADIO_TEMP_DIR", scratch)
    os.environ.setdefault("MANDC_HOME", scratch)
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores",
          flush=True)
    server_side = ServerSide()
    app = build_app()
    app.launch(server_name="127.0.0.1", server_port=_free_port(), prevent_thread_lock=True,
               quiet=True, **launch_options())
    try:
        client = gradio_client.Client(app.local_url, verbose=False, download_files=False)

        def rank(dataset: str):
            return client.predict(dataset=dataset, top=5, api_name="/recommend")

        datasets = list(resolve_graph().dataset_ids)
        cold = _timed(lambda: rank(datasets[0]))
        print(f"profiled dataset, first request (fits the held-out method): {cold:.2f} s",
              flush=True)
        _series("profiled dataset, warm", [_timed(lambda: rank(datasets[0]))
                                           for _ in range(args.warm)])

        first = _timed(lambda: client.predict(example="flowers", top=5, api_name="/recommend"))
        print(f"first upload of the app (bundled example, 20 images; loads the encoders): "
              f"{first:.2f} s", flush=True)
        uploads = []
        for k in range(args.uploads):
            paths = _write_upload(Path(scratch) / f"upload-{k}", 100, k)
            if args.zip:
                import zipfile

                archive = Path(scratch) / f"upload-{k}.zip"
                with zipfile.ZipFile(archive, "w") as bundle:
                    for path in paths:
                        bundle.write(path, path.name)
                paths = [archive]
            uploads.append([gradio_client.handle_file(str(p)) for p in paths])

        def send(files, times, cpu, server, label):
            start = time.process_time()
            times.append(_timed(lambda: client.predict(files=files, top=5,
                                                       api_name="/recommend")))
            cpu.append(time.process_time() - start)
            server.append(server_side.calls[-1][0])
            print(f"  {label}: client {times[-1]:.2f} s, {server_side.last()}", flush=True)

        new, new_cpu, new_server, again, again_cpu, again_server = [], [], [], [], [], []
        for k, files in enumerate(uploads):
            send(files, new, new_cpu, new_server, f"upload {k} new")
            send(files, again, again_cpu, again_server, f"upload {k} again")
        _series("new 100-image upload, never seen, no probe (describe, place, rank)", new,
                new_cpu)
        _series("  its server side (the callback)", new_server)
        _series("the same upload again (placement reused)", again, again_cpu)
        _series("  its server side (the callback)", again_server)

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
            _series(f"{args.concurrent} concurrent requests, {label}", times)
        print(f"load average at the end: {os.getloadavg()[0]:.1f}", flush=True)
    finally:
        app.close()


if __name__ == "__main__":
    main()
