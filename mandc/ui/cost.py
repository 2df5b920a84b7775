"""What fine-tuning a model costs, in seconds measured by the graph's own profiling runs.

Each run record (``runs/*.json``, written by :func:`mandc.profile.runner.profile_pair`) holds the
wall-clock seconds of its LoRA fine-tune (``timings_s["finetune"]``), the recipe, and, in newer
records, the machine (``device``). A model's cost is the median over its runs of the graph's most
used recipe, on the machine that ran most of them. A model without runs (a catalogue model, or
one whose runs are not here) is *estimated* from its parameter count by a power law,
``seconds = a * params ** b``, fitted on the models measured on the reference machine (the one
with the most measured models); no estimate is made far outside the measured sizes, where the
law is not evidence. Seconds from different machines are never mixed in one figure.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

EXTRAPOLATION = 10.0
"""No estimate for a model more than this factor smaller or larger than the measured ones."""
MIN_FIT_MODELS = 3
"""Measured models (of at least two sizes) a power law needs before it estimates anything."""
NOT_RECORDED = "device not recorded"


@dataclass
class Cost:
    """One model's fine-tune cost: ``seconds`` on ``device``, measured over ``runs`` runs, or
    estimated (``runs == 0``)."""

    seconds: float
    device: str
    runs: int

    @property
    def measured(self) -> bool:
        return self.runs > 0

    def to_dict(self) -> dict:
        return {"seconds": round(self.seconds, 1), "device": self.device,
                "measured": self.measured, "runs": self.runs}


@dataclass
class FinetuneCosts:
    """The costs a graph's run records support (see the module docstring)."""

    measured: dict[str, Cost] = field(default_factory=dict)
    recipe: dict | None = None
    reference: str | None = None
    """The machine the power law was fitted on (``None``: too few measured models)."""
    exponent: float | None = None
    scale: float | None = None
    sizes: tuple[float, float] | None = None
    """Smallest and largest parameter count of the models behind the fit."""
    fitted_on: int = 0

    @classmethod
    def from_runs(cls, runs: list[dict], models: pd.DataFrame) -> FinetuneCosts:
        """Costs from run records and the graph's model table (its ``params`` column)."""
        usable = [r for r in runs if _seconds(r) is not None and r.get("model")]
        if not usable:
            return cls()
        recipe_hash, _ = Counter(str(r.get("recipe_hash")) for r in usable).most_common(1)[0]
        usable = [r for r in usable if str(r.get("recipe_hash")) == recipe_hash]
        by_model: dict[str, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
        for record in usable:
            device = str(record.get("device") or NOT_RECORDED)
            by_model[str(record["model"])][device].append(_seconds(record))
        measured = {}
        for model, devices in by_model.items():
            # the machine with the most runs; runs that name their machine before those that
            # do not (the default graph's held-out parts did not record it)
            device, seconds = max(devices.items(), key=lambda item: (
                item[0] != NOT_RECORDED, len(item[1]), item[0]))
            measured[model] = Cost(statistics.median(seconds), device, len(seconds))
        costs = cls(measured, recipe=usable[0].get("recipe"))
        costs._fit(_params(models))
        return costs

    def _fit(self, params: dict[str, float]) -> None:
        machines = Counter(cost.device for cost in self.measured.values())
        if not machines:
            return
        reference = machines.most_common(1)[0][0]
        points = [(params[m], cost.seconds) for m, cost in self.measured.items()
                  if cost.device == reference and params.get(m, 0) > 0 and cost.seconds > 0]
        if len(points) < MIN_FIT_MODELS or len({p for p, _ in points}) < 2:
            return
        x, y = np.log([p for p, _ in points]), np.log([s for _, s in points])
        exponent, intercept = np.polyfit(x, y, 1)
        self.reference, self.exponent, self.scale = reference, float(exponent), float(intercept)
        self.sizes = (float(min(p for p, _ in points)), float(max(p for p, _ in points)))
        self.fitted_on = len(points)

    def of(self, model: str, params: float | None) -> Cost | None:
        """``model``'s cost: measured if it has runs, else estimated from ``params`` (``None``:
        no runs and no estimate)."""
        if model in self.measured:
            return self.measured[model]
        if self.exponent is None or params is None or not math.isfinite(params) or params <= 0:
            return None
        low, high = self.sizes
        if not low / EXTRAPOLATION <= params <= high * EXTRAPOLATION:
            return None
        return Cost(float(math.exp(self.scale + self.exponent * math.log(params))),
                    self.reference, 0)

    def recipe_text(self) -> str:
        """The recipe the seconds are for, in a few words."""
        r = self.recipe or {}
        parts = [f"{r['steps']} steps" if "steps" in r else "",
                 f"batch {r['batch_size']}" if "batch_size" in r else "",
                 f"{r['train_samples']} images" if "train_samples" in r else "",
                 f"{r['resolution']} px" if "resolution" in r else "",
                 f"LoRA rank {r['rank']}" if "rank" in r else ""]
        return ", ".join(part for part in parts if part) or "its recipe"

    def devices(self) -> list[str]:
        """The machines behind the figures, most measured models first."""
        return [d for d, _ in Counter(c.device for c in self.measured.values()).most_common()]


def short_device(device: str) -> str:
    """A machine's name for a table cell: ``NVIDIA H200 (shared…)`` → ``H200``,
    ``CPU, 1 thread (…)`` → ``CPU``."""
    if device == NOT_RECORDED:
        return ""
    name = device.split(" (")[0].split(",")[0].strip()
    return re.sub(r"^(NVIDIA|AMD|Intel)\s+", "", name) or name


def _seconds(record: dict) -> float | None:
    timings = record.get("timings_s")
    value = timings.get("finetune") if isinstance(timings, dict) else None
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) and value > 0 else None


def _params(models: pd.DataFrame) -> dict[str, float]:
    if "params" not in models or "model" not in models:
        return {}
    values = pd.to_numeric(models["params"], errors="coerce")
    return {str(m): float(v) for m, v in zip(models["model"], values) if pd.notna(v)}
