"""Profile (model, dataset) pairs: zero-shot score, LoRA fine-tune, score again, write the graph.

One pair (:func:`profile_pair`) loads a pipeline (Hub id, local folder or zoo name — one code
path), the dataset's train split (fine-tune data) and test split (held-out captions and real
images), scores the base model zero-shot, LoRA fine-tunes it, scores the fine-tuned model, and
appends the rows to the graph's score shards at once. A grid (:func:`run_grid`) runs many pairs,
skipping those whose scores the graph already holds, so it can be stopped and resumed at will.

Seeds: each pair derives its own seed from the recipe seed, the model and the dataset
(:func:`pair_seed`), so a pair's result does not depend on which other pairs ran before it.
Held-out sets are sampled with a fixed seed, so every model of a grid is scored against the same
real images, whose Inception features are computed once (see ``metrics.real_features``).
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd
from PIL import Image

from ..errors import ConfigError, ValidationError
from ..graph.matching_graph import MatchingGraph
from ..graph.store import add_nodes, append_scores, declare_metrics, load_graph, save_graph
from ..settings import get_settings
from ..threads import torch_threads
from .probe import probe_metric_specs
from .recipe import Recipe

log = logging.getLogger(__name__)

FINETUNED_METRICS = ("fid", "kid")
ZERO_SHOT_METRICS = ("zero_shot_fid", "zero_shot_kid")
DATA_SEED = 0
"""Seed that samples the train and held-out images: fixed, so all models see the same data."""
PRIMARY_METRIC = "fid"
"""The metric a new graph ranks by (the M&C paper's); all four are recorded."""
GRID_SIDE = 4
"""Sample grids are GRID_SIDE × GRID_SIDE images."""


# ---------------------------------------------------------------------------------- naming
def model_id(model: str | Path) -> str:
    """The graph id of a model: a zoo name, a zoo folder's spec name, a folder name, or a Hub id."""
    path = Path(model).expanduser()
    if path.is_dir():
        spec = path / "zoo_spec.json"
        return json.loads(spec.read_text())["name"] if spec.is_file() else path.resolve().name
    return str(model)


def dataset_id(dataset: str | Path) -> str:
    """The graph id of a dataset, named as ``mandc.data.load_target`` names it."""
    path = Path(dataset).expanduser()
    if path.is_dir():
        return path.resolve().name
    if path.is_file():
        return path.name
    return str(dataset)


def pair_seed(recipe: Recipe, model: str, dataset: str) -> int:
    """A 31-bit seed from the recipe seed and the pair's ids (stable across runs and machines)."""
    digest = hashlib.sha256(f"{recipe.seed}|{model}|{dataset}".encode()).digest()
    return int.from_bytes(digest[:4], "little") & 0x7FFFFFFF


def _file_stem(model: str, dataset: str, recipe_hash: str) -> str:
    safe = [text.replace("/", "--").replace("\\", "--") for text in (model, dataset)]
    return f"{safe[0]}__{safe[1]}__{recipe_hash[:12]}"


# ---------------------------------------------------------------------------------- graph nodes
def model_row(model: str | Path, pipeline=None) -> dict:
    """A ``models`` table row: the zoo's spec table for a zoo model, else what the pipeline says."""
    from ..minizoo.models import ZOO, get_spec, zoo_table

    identifier = model_id(model)
    if identifier in ZOO:
        row = zoo_table([get_spec(identifier)]).iloc[0].to_dict()
        row.pop("id", None)
        return {"model": identifier, "source": "minizoo", **row}
    row = {"model": identifier, "source": "local" if Path(model).expanduser().is_dir() else "hub"}
    if pipeline is not None:
        row["pipeline_class"] = type(pipeline).__name__
        row["params"] = int(sum(p.numel() for name in ("unet", "transformer", "text_encoder")
                                if getattr(pipeline, name, None) is not None
                                for p in getattr(pipeline, name).parameters()))
    return row


def dataset_row(image_set, *, total: int | None = None) -> dict:
    """A minimal ``datasets`` table row (features are added by the featurizer, not here)."""
    return {"dataset": image_set.name, "fingerprint": image_set.fingerprint(),
            "size": int(total if total is not None else (image_set.total or len(image_set)))}


def ensure_graph(graph_dir: str | Path, models: list[dict], datasets: list[dict]) -> MatchingGraph:
    """Create the graph directory with these nodes, or add the ones it lacks."""
    graph_dir = Path(graph_dir)
    models_table, datasets_table = pd.DataFrame(models), pd.DataFrame(datasets)
    if not (graph_dir / "graph.json").is_file():
        if graph_dir.exists() and any(graph_dir.iterdir()):
            raise ConfigError(f"{graph_dir} exists, is not empty and is not a matching graph")
        metrics = {m: {"higher_is_better": False} for m in FINETUNED_METRICS + ZERO_SHOT_METRICS}
        for fid_metric in ("fid", "zero_shot_fid"):  # positive, compared by ratios; KID can be < 0
            metrics[fid_metric]["log_scale"] = True
        graph = MatchingGraph(models=models_table, datasets=datasets_table,
                              meta={"metrics": {**metrics, **probe_metric_specs()},
                                    "primary_metric": PRIMARY_METRIC})
        save_graph(graph, graph_dir)
        return graph
    declare_metrics(graph_dir, probe_metric_specs())
    return add_nodes(graph_dir, models=models_table, datasets=datasets_table)


def finished_keys(graph_dir: str | Path, *, zero_shot: bool = True) -> set[tuple[str, str, str]]:
    """(model, dataset, recipe_hash) triples whose scores the graph already holds in full."""
    if not (Path(graph_dir) / "graph.json").is_file():
        return set()
    scores = load_graph(graph_dir).scores
    wanted = set(FINETUNED_METRICS + (ZERO_SHOT_METRICS if zero_shot else ()))
    return {tuple(map(str, key))
            for key, group in scores.groupby(["model", "dataset", "recipe_hash"])
            if wanted <= set(group["metric"].astype(str))}


# ---------------------------------------------------------------------------------- one pair
def sample_grid(images: list[Image.Image], side: int = GRID_SIDE) -> Image.Image:
    """The first ``side²`` images tiled row by row (blank cells when there are fewer)."""
    if not images:
        raise ValidationError("no images for a sample grid")
    width, height = images[0].size
    grid = Image.new("RGB", (side * width, side * height), (255, 255, 255))
    for index, image in enumerate(images[:side * side]):
        grid.paste(image.convert("RGB").resize((width, height)),
                   ((index % side) * width, (index // side) * height))
    return grid


def _load_splits(dataset, train_samples: int, eval_samples: int, options=None):
    """Train split and held-out split; without a test split, the held-out images are the last
    ``eval_samples`` of a seeded train sample (recorded in the result as ``heldout``)."""
    from ..data import load_target

    try:
        test = load_target(dataset, options, split="test", max_samples=eval_samples,
                           seed=DATA_SEED)
    except ValidationError as error:
        if "split" not in str(error):
            raise
        both = load_target(dataset, options, split="train",
                           max_samples=train_samples + eval_samples, seed=DATA_SEED)
        if len(both) < eval_samples + 2:
            raise ValidationError(f"{len(both)} examples are too few to hold out "
                                  f"{eval_samples} for scoring", file=str(dataset)) from error
        cut = len(both) - eval_samples
        train = type(both)(both.name, both.source, both.images[:cut], both.captions[:cut],
                           both.total, both.skipped)
        test = type(both)(both.name, both.source, both.images[cut:], both.captions[cut:],
                          both.total, both.skipped)
        return train, test, "train-holdout"
    train = load_target(dataset, options, split="train", max_samples=train_samples,
                        seed=DATA_SEED)
    return train, test, "test"


def _relative_to(path: Path, root: Path) -> str:
    """``path`` relative to ``root`` when inside it (a graph that moves keeps its links)."""
    try:
        return Path(path).resolve().relative_to(Path(root).resolve()).as_posix()
    except ValueError:
        return str(path)


def _score_rows(model: str, dataset: str, recipe: Recipe, values: dict) -> pd.DataFrame:
    created = datetime.now(UTC).isoformat(timespec="seconds")
    return pd.DataFrame([{
        "model": model, "dataset": dataset, "metric": metric, "value": float(value),
        "higher_is_better": False, "count": 1, "recipe": recipe.to_json(),
        "recipe_hash": recipe.hash(), "created_at": created, "author": get_settings().author,
    } for metric, value in values.items()])


def profile_pair(model: str | Path, dataset: str | Path, recipe: Recipe, *,
                 graph_dir: str | Path, samples_dir: str | Path | None = None,
                 zero_shot: bool = True, scorer=None, progress: bool = False,
                 load_options=None, adapters_dir: str | Path | None = None) -> dict:
    """Fine-tune ``model`` on ``dataset`` with ``recipe`` and record FID/KID in the graph.

    Writes, at once: score rows ``fid``, ``kid`` (and ``zero_shot_fid``, ``zero_shot_kid``
    for the base model, and its denoising probe, :mod:`mandc.profile.probe`) to a new shard of
    ``graph_dir`` (created if missing, with the model and dataset nodes); 4 × 4 sample grids
    ``<samples_dir>/<model>__<dataset>__<hash>.png`` (fine-tuned) and ``…-zero-shot.png``
    (default ``samples_dir``: ``graph_dir/samples``); and a run record
    ``graph_dir/runs/<same stem>.json`` with the wall time of each stage. Returns that record
    (paths inside ``graph_dir`` are relative to it). With ``adapters_dir`` the fine-tuned LoRA
    adapter is kept too, as ``<adapters_dir>/<same stem>/pytorch_lora_weights.safetensors``
    (:func:`mandc.profile.finetune.save_adapter`; the record's ``adapter`` names the folder,
    where ``mandc profile --save-adapters`` writes its card with
    :func:`mandc.hub.cards.write_adapter_card`).

    The pair runs on ``MANDC_THREADS`` torch threads (settings' ``threads``), in a grid worker
    as in this process, so its scores do not depend on how many pairs run side by side.
    """
    if not isinstance(recipe, Recipe):
        raise ConfigError(f"recipe must be a Recipe, got {type(recipe).__name__}")
    threads = get_settings().threads
    with torch_threads(threads):
        record = _measure_pair(model, dataset, recipe, graph_dir=Path(graph_dir),
                               samples_dir=samples_dir, zero_shot=zero_shot, scorer=scorer,
                               progress=progress, threads=threads, load_options=load_options,
                               adapters_dir=adapters_dir)
    return record


def device_name(device: str, threads: int) -> str:
    """The machine a run's timings were measured on, as its record says it: the GPU's name, or
    the CPU and its thread count (so that seconds from different machines are not compared)."""
    import torch

    if device.startswith("cuda") and torch.cuda.is_available():
        return torch.cuda.get_device_name(torch.device(device))
    return f"{device.upper() if device == 'cpu' else device}, {threads} thread" + \
        ("s" if threads != 1 else "")


def _measure_pair(model, dataset, recipe: Recipe, *, graph_dir: Path, samples_dir, zero_shot,
                  scorer, progress: bool, threads: int, load_options=None,
                  adapters_dir=None) -> dict:
    """:func:`profile_pair`'s work, on the thread count it set."""
    from ..minizoo.models import load_pipeline
    from .finetune import finetune_lora, generate, save_adapter
    from .metrics import FIDKIDScorer
    from .probe import PROBE_SEED, denoising_error, probe_rows, probe_sample

    samples_dir = Path(samples_dir) if samples_dir is not None else graph_dir / "samples"
    scorer = scorer or FIDKIDScorer()
    timings: dict[str, float] = {}
    started = clock = time.perf_counter()

    def lap(stage: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[stage] = round(now - clock, 3)
        clock = now

    pipeline = load_pipeline(model, device=get_settings().device)
    train, test, heldout = _load_splits(dataset, recipe.train_samples, recipe.eval_samples,
                                        load_options)
    lap("load")
    model_name, dataset_name = model_id(model), train.name
    ensure_graph(graph_dir, [model_row(model, pipeline)], [dataset_row(train)])
    seed = pair_seed(recipe, model_name, dataset_name)
    generate_kwargs = {**recipe.generate_kwargs(), "seed": seed}
    real_feats = scorer.real_features(test)
    lap("real_features")

    values, grids, extra_rows, probe_errors = {}, {}, [], {}
    if zero_shot:
        base_images = generate(pipeline, test.captions, **generate_kwargs)
        lap("zero_shot_generate")
        base = scorer.score(base_images, real_feats)
        values.update({f"zero_shot_{metric}": value for metric, value in base.items()})
        grids["zero_shot"] = sample_grid(base_images)
        lap("zero_shot_score")
        probe = probe_sample(dataset)
        probe_errors = denoising_error(pipeline, probe.images, probe.captions)
        extra_rows.append(probe_rows(model_name, dataset_name, probe_errors,
                                     samples=len(probe), seed=PROBE_SEED))
        lap("probe")
    tuned = finetune_lora(pipeline, train.images, train.captions,
                          **{**recipe.finetune_kwargs(), "seed": seed}, progress=progress)
    lap("finetune")
    tuned_images = generate(tuned, test.captions, **generate_kwargs)
    lap("generate")
    values.update(scorer.score(tuned_images, real_feats))
    grids["finetuned"] = sample_grid(tuned_images)
    lap("score")

    stem = _file_stem(model_name, dataset_name, recipe.hash())
    adapter = None
    if adapters_dir is not None:
        adapter = Path(adapters_dir).expanduser().resolve() / stem  # the record holds it whole
        save_adapter(tuned, adapter)
        lap("save_adapter")
    samples_dir.mkdir(parents=True, exist_ok=True)
    sample_files = {}
    for kind, grid in grids.items():
        path = samples_dir / (f"{stem}.png" if kind == "finetuned" else f"{stem}-zero-shot.png")
        grid.save(path)
        sample_files[kind] = _relative_to(path, graph_dir)
    shard = append_scores(graph_dir, pd.concat(
        [_score_rows(model_name, dataset_name, recipe, values), *extra_rows], ignore_index=True))
    timings["total"] = round(time.perf_counter() - started, 3)
    record = {
        "model": model_name, "dataset": dataset_name, "model_source": str(model),
        "dataset_source": str(dataset), "recipe": recipe.to_dict(),
        "recipe_hash": recipe.hash(), "pair_seed": seed, "scores": values,
        "probe": probe_errors,
        "wall_time_s": timings["total"], "timings_s": timings, "torch_threads": threads,
        "device": device_name(get_settings().device, threads),
        "train_images": len(train), "eval_images": len(test), "heldout": heldout,
        "samples": sample_files, "shard": _relative_to(shard, graph_dir),
        **({"adapter": _relative_to(adapter, graph_dir)} if adapter is not None else {}),
        "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }
    runs = graph_dir / "runs"
    runs.mkdir(exist_ok=True)
    (runs / f"{stem}.json").write_text(json.dumps(record, indent=1, sort_keys=True) + "\n")
    return record


# ---------------------------------------------------------------------------------- the grid
@dataclass
class GridResult:
    """What a grid run did: finished records, skipped pairs, failures (pair → error line), and
    pairs left for a later run because the time limit came first."""

    finished: list[dict] = field(default_factory=list)
    skipped: list[tuple[str, str, int]] = field(default_factory=list)
    failed: list[tuple[str, str, int, str]] = field(default_factory=list)
    not_started: list[tuple[str, str, int]] = field(default_factory=list)
    wall_time_s: float = 0.0

    def summary(self) -> str:
        lines = [f"{len(self.finished)} pairs profiled, {len(self.skipped)} already done, "
                 f"{len(self.failed)} failed in {self.wall_time_s:.0f} s"]
        if self.not_started:
            lines.append(f"{len(self.not_started)} pairs left for a rerun (time limit reached)")
        lines += [f"  failed: {m} × {d} (seed {s}): {error}" for m, d, s, error in self.failed]
        return "\n".join(lines)

    def to_dict(self) -> dict:
        return {"finished": self.finished, "skipped": [list(p) for p in self.skipped],
                "failed": [list(p) for p in self.failed],
                "not_started": [list(p) for p in self.not_started],
                "wall_time_s": self.wall_time_s}


@dataclass(frozen=True)
class _Job:
    model: str
    dataset: str
    seed: int
    recipe: Recipe
    zero_shot: bool
    load_options: object = None

    @property
    def label(self) -> tuple[str, str, int]:
        return model_id(self.model), dataset_id(self.dataset), self.seed


def _plan(models, datasets, recipe: Recipe, seeds, zero_shot: bool, graph_dir, resume: bool,
          load_options=None):
    """Jobs in run order (seed, then dataset, then model) and the pairs already in the graph."""
    done = {flag: finished_keys(graph_dir, zero_shot=flag) if resume else set()
            for flag in (True, False)}
    jobs, skipped = [], []
    for position, seed in enumerate(seeds):
        seeded = recipe.with_seed(int(seed))
        with_zero_shot = zero_shot and position == 0
        for dataset in datasets:
            for model in models:
                job = _Job(str(model), str(dataset), int(seed), seeded, with_zero_shot,
                           load_options)
                key = (model_id(model), dataset_id(dataset), seeded.hash())
                (skipped if key in done[with_zero_shot] else jobs).append(job)
    return jobs, [job.label for job in skipped]


def _add_all_nodes(graph_dir, jobs: list[_Job]) -> None:
    """Create every node up front, so parallel workers only ever append score shards."""
    models = {job.model: model_row(job.model) for job in jobs}
    datasets = {}
    for job in jobs:
        if job.dataset not in datasets:
            train = _load_splits(job.dataset, job.recipe.train_samples, job.recipe.eval_samples)[0]
            datasets[job.dataset] = dataset_row(train)
    ensure_graph(graph_dir, list(models.values()), list(datasets.values()))


_worker_scorer = None


def _start_worker() -> None:
    """Each worker loads one scorer (and its Inception network) for all the pairs it runs."""
    global _worker_scorer
    from .metrics import FIDKIDScorer

    _worker_scorer = FIDKIDScorer()


def _warn_if_oversubscribed(workers: int) -> None:
    """Say so when workers × threads exceed the CPUs this process may use (a slow grid)."""
    import os

    settings = get_settings()
    if settings.device != "cpu":
        return
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    if cpus and workers * settings.threads > cpus:
        log.warning("%d workers × %d threads (MANDC_THREADS) exceed the %d CPUs available; "
                    "the grid will run slower than with fewer workers", workers,
                    settings.threads, cpus)


def _run_job(job: _Job, graph_dir: str, samples_dir: str | None,
             adapters_dir: str | None = None) -> dict:
    return profile_pair(job.model, job.dataset, job.recipe, graph_dir=graph_dir,
                        samples_dir=samples_dir, zero_shot=job.zero_shot, scorer=_worker_scorer,
                        load_options=job.load_options, adapters_dir=adapters_dir)


def run_grid(models: list[str], datasets: list[str], recipe: Recipe, *,
             graph_dir: str | Path, seeds=(0,), resume: bool = True, progress: bool = True,
             samples_dir: str | Path | None = None, zero_shot: bool = True, scorer=None,
             workers: int = 1, time_limit_s: float | None = None,
             on_pair: Callable[[dict], None] | None = None, load_options=None,
             adapters_dir: str | Path | None = None) -> GridResult:
    """Profile every model × dataset × seed; each finished pair is in the graph at once.

    ``seeds`` replace the recipe's seed (each seed is its own recipe, hash and score rows).
    Zero-shot scores (with ``zero_shot``) are measured under the first seed only: they are a
    cheap feature of the pair, not the ground truth, and each costs a generation and an
    Inception pass. With ``resume`` a pair whose (model, dataset, recipe_hash) already has all
    its metrics in the graph is skipped, so an interrupted grid picks up where it stopped. A pair
    that fails is logged and counted; the grid goes on. ``workers > 1`` runs pairs in that many
    processes (one GPU holds many of the zoo's small models at once); every pair runs on
    ``MANDC_THREADS`` torch threads either way, so the layout does not change a score. With
    ``time_limit_s`` no pair starts after that many seconds; the ones not started are listed for
    a rerun. ``on_pair`` is called with each finished pair's record once its rows are in the
    graph (``--push`` pushes from there, :class:`mandc.hub.pair_push.PairPusher`).
    ``load_options`` (:class:`mandc.data.LoadOptions`): how every dataset is read (columns,
    limits), as for one pair. ``adapters_dir``: keep every pair's LoRA adapter there
    (:func:`profile_pair`); pairs skipped because the graph has them save none.
    """
    if not isinstance(workers, int) or workers < 1:
        raise ConfigError(f"workers must be a positive integer, got {workers!r}")
    if not models or not datasets or not seeds:
        raise ConfigError("run_grid needs at least one model, one dataset and one seed")
    started = time.perf_counter()
    jobs, skipped = _plan(models, datasets, recipe, seeds, zero_shot, graph_dir, resume,
                          load_options)
    result = GridResult(skipped=skipped)

    def out_of_time() -> bool:
        return time_limit_s is not None and time.perf_counter() - started > time_limit_s

    def record(job: _Job, outcome) -> None:
        if isinstance(outcome, BaseException):
            line = f"{type(outcome).__name__}: {outcome}".splitlines()[0]
            log.warning("pair %s × %s (seed %s) failed: %s\n%s", job.model, job.dataset,
                        job.seed, line, "".join(traceback.format_exception(outcome)))
            result.failed.append((*job.label[:2], job.seed, line))
        else:
            result.finished.append(outcome)
            if on_pair is not None:
                on_pair(outcome)
        if bar is not None:
            bar.set_postfix_str(f"{job.label[0]} × {job.label[1]} s{job.seed}")
            bar.update(1)

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(jobs), desc="profile grid", unit="pair", dynamic_ncols=True)
    try:
        if workers == 1:
            from .metrics import FIDKIDScorer

            scorer = scorer or FIDKIDScorer()
            for position, job in enumerate(jobs):
                if out_of_time():
                    result.not_started = [j.label for j in jobs[position:]]
                    break
                try:
                    outcome = profile_pair(job.model, job.dataset, job.recipe,
                                           graph_dir=graph_dir, samples_dir=samples_dir,
                                           zero_shot=job.zero_shot, scorer=scorer,
                                           load_options=job.load_options,
                                           adapters_dir=adapters_dir)
                except Exception as error:  # one broken pair must not stop a long grid
                    outcome = error
                record(job, outcome)
        else:
            _run_pool(jobs, workers, graph_dir, samples_dir, out_of_time, record, result,
                      adapters_dir)
    finally:
        if bar is not None:
            bar.close()
        result.wall_time_s = round(time.perf_counter() - started, 3)
    return result


def _run_pool(jobs, workers, graph_dir, samples_dir, out_of_time, record, result,
              adapters_dir=None) -> None:
    """Keep ``workers`` pairs in flight in spawned processes until the jobs or the time run out."""
    import multiprocessing
    from concurrent.futures import FIRST_COMPLETED, ProcessPoolExecutor, wait

    if jobs:
        _add_all_nodes(graph_dir, jobs)
    _warn_if_oversubscribed(workers)
    queue = list(jobs)
    with ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("spawn"),
                             initializer=_start_worker) as pool:
        running = {}
        while queue or running:
            while queue and len(running) < workers and not out_of_time():
                job = queue.pop(0)
                samples = None if samples_dir is None else str(samples_dir)
                adapters = None if adapters_dir is None else str(adapters_dir)
                running[pool.submit(_run_job, job, str(graph_dir), samples, adapters)] = job
            if out_of_time() and queue:
                result.not_started = [job.label for job in queue]
                queue = []
            if not running:
                break
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            for future in finished:
                job = running.pop(future)
                error = future.exception()
                record(job, error if error is not None else future.result())


# ---------------------------------------------------------------------------------- CLI helpers
def recipe_from_options(*, steps: int | None = None, rank: int | None = None,
                        lr: float | None = None, seed: int | None = None,
                        eval_samples: int | None = None, sample_steps: int | None = None,
                        base: Recipe | None = None) -> Recipe:
    """The default recipe with the options a user gave on the command line."""
    values = (base or Recipe()).to_dict()
    given = {"steps": steps, "rank": rank, "lr": lr, "seed": seed, "eval_samples": eval_samples,
             "num_inference_steps": sample_steps}
    values.update({key: value for key, value in given.items() if value is not None})
    return Recipe.from_dict(values)


def profile_command(model: str, dataset: str, *, graph: str | Path | None = None,
                    steps: int | None = None, rank: int | None = None, lr: float | None = None,
                    seed: int | None = None, samples_dir: str | Path | None = None,
                    eval_samples: int | None = None, sample_steps: int | None = None,
                    progress: bool = True, load_options=None,
                    on_pair: Callable[[dict], None] | None = None,
                    adapters_dir: str | Path | None = None) -> dict:
    """``mandc profile --model M --dataset D [--steps --rank --lr --seed] --graph DIR``;
    ``load_options`` (:class:`mandc.data.LoadOptions`): columns and limits of the dataset;
    ``on_pair`` is called with the finished pair's record (``--push``); ``adapters_dir``
    keeps the LoRA adapter (``--save-adapters``)."""
    recipe = recipe_from_options(steps=steps, rank=rank, lr=lr, seed=seed,
                                 eval_samples=eval_samples, sample_steps=sample_steps)
    record = profile_pair(model, dataset, recipe,
                          graph_dir=graph or get_settings().default_graph_dir,
                          samples_dir=samples_dir, progress=progress, load_options=load_options,
                          adapters_dir=adapters_dir)
    if on_pair is not None:
        on_pair(record)
    return record


def grid_command(models: list[str], datasets: list[str], *, graph: str | Path | None = None,
                 seeds=(0,), steps: int | None = None, rank: int | None = None,
                 lr: float | None = None, resume: bool = True,
                 samples_dir: str | Path | None = None, eval_samples: int | None = None,
                 sample_steps: int | None = None, progress: bool = True, workers: int = 1,
                 zero_shot: bool = True, time_limit_s: float | None = None,
                 on_pair: Callable[[dict], None] | None = None,
                 load_options=None, adapters_dir: str | Path | None = None) -> GridResult:
    """``mandc profile-grid --models … --datasets … [--seeds 0,1] --graph DIR``;
    ``load_options`` (:class:`mandc.data.LoadOptions`): how every dataset is read;
    ``adapters_dir``: keep every pair's LoRA adapter (``--save-adapters``)."""
    recipe = recipe_from_options(steps=steps, rank=rank, lr=lr, eval_samples=eval_samples,
                                 sample_steps=sample_steps)
    return run_grid(models, datasets, recipe, graph_dir=graph or get_settings().default_graph_dir,
                    seeds=seeds, resume=resume, progress=progress, samples_dir=samples_dir,
                    workers=workers, zero_shot=zero_shot, time_limit_s=time_limit_s,
                    on_pair=on_pair, load_options=load_options, adapters_dir=adapters_dir)
