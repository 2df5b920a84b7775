"""Text and JSON renderings of M&C results for the command line (and anything else that prints).

Functions here only format: they take plain results (dicts, DataFrames) and return strings, so the
CLI stays a thin layer of parse → call → format.
"""

from __future__ import annotations

import json
import math
import textwrap
from collections.abc import Callable, Mapping, Sequence
from decimal import ROUND_HALF_UP, Decimal

import numpy as np
import pandas as pd


def to_json(obj, indent: int | None = 2) -> str:
    """JSON with NaN/inf as ``null`` and numpy/pandas scalars as plain numbers."""
    return json.dumps(jsonable(obj), indent=indent, allow_nan=False)


def jsonable(obj):
    """A copy of ``obj`` made of dicts, lists, strings, finite floats, ints, bools and None."""
    if isinstance(obj, Mapping):
        return {str(k): jsonable(v) for k, v in obj.items()}
    if isinstance(obj, pd.DataFrame):
        return [jsonable(row) for row in obj.to_dict(orient="records")]
    if isinstance(obj, (pd.Series, np.ndarray)):
        return [jsonable(v) for v in obj.tolist()]
    if isinstance(obj, (list, tuple, set)):
        return [jsonable(v) for v in obj]
    if isinstance(obj, (bool, np.bool_)):
        return bool(obj)
    if isinstance(obj, (int, np.integer)):
        return int(obj)
    if isinstance(obj, (float, np.floating)):
        return float(obj) if math.isfinite(obj) else None
    if obj is None or obj is pd.NA or obj is pd.NaT:
        return None
    if hasattr(obj, "__fspath__"):
        return str(obj)
    return obj if isinstance(obj, str) else str(obj)


def fixed(value: float, decimals: int = 3) -> str:
    """``value`` with ``decimals`` decimals, a half rounded away from zero as a reader rounds
    (0.1875 → 0.188, 0.0625 → 0.063). It is first read to 12 significant digits, so a mean that
    float sums left a hair below a half (0.18749999999999997) counts as the 0.1875 it is and
    not as 0.187 — ``format`` rounds the binary value, half to even."""
    exact = Decimal(f"{value:.12g}")
    return f"{exact.quantize(Decimal(1).scaleb(-decimals), rounding=ROUND_HALF_UP):f}"


def table(rows: Sequence[Mapping], columns: Sequence[str], *, floats: str | Callable = fixed,
          formats: Mapping[str, str | Callable[[float], str]] | None = None) -> str:
    """A plain aligned text table (numbers right-aligned, missing values as ``-``, floats with
    three decimals by :func:`fixed`); ``formats`` overrides the float format per column (a
    format string or a function of the value)."""
    def cell(value, column) -> str:
        if value is None or (isinstance(value, float) and not math.isfinite(value)):
            return "-"
        if isinstance(value, (float, np.floating)):
            form = (formats or {}).get(column, floats)
            return form(float(value)) if callable(form) else form.format(value)
        return str(value)

    cells = [[cell(row.get(c), c) for c in columns] for row in rows]
    numeric = [all(_is_number(row.get(c)) for row in rows) for c in columns]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]

    def line(values) -> str:
        return "  ".join(v.rjust(w) if num else v.ljust(w)
                         for v, w, num in zip(values, widths, numeric)).rstrip()

    return "\n".join([line(columns), line(["-" * w for w in widths])] + [line(r) for r in cells])


def significant(value: float, digits: int = 3) -> str:
    """``value`` rounded to ``digits`` significant figures, in plain notation (``80.6``, ``171``,
    ``-0.0620``): what a reader compares at a glance, without exponents."""
    if value == 0 or not math.isfinite(value):
        return f"{value:g}"
    rounded = float(f"{value:.{digits - 1}e}")  # 9.996 → 10.0, so the decimals follow the rounding
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(rounded))))
    return f"{rounded:.{decimals}f}"


def _is_number(value) -> bool:
    return value is None or (isinstance(value, (int, float, np.integer, np.floating))
                             and not isinstance(value, bool))


# ---------------------------------------------------------------------------------- graph show
def graph_summary_text(summary: Mapping, source: str) -> str:
    """``mandc graph show``: counts, coverage, metrics, similarity and featurizer."""
    metrics = []
    for name, spec in summary["metrics"].items():
        direction = "higher" if spec["higher_is_better"] else "lower"
        primary = ", primary" if name == summary["primary_metric"] else ""
        probe = ", zero-shot probe" if spec.get("probe") else ""
        metrics.append(f"{name} ({direction} is better, {spec['rows']} rows{primary}{probe})")
    shape = f"{summary['models']} × {summary['datasets']}"
    lines = [
        f"graph       {source}",
        f"models      {summary['models']}",
        f"datasets    {summary['datasets']} ({summary.get('profiled_datasets', '?')} with scores)",
        f"scores      {summary['scores']} rows over {summary['pairs']} model–dataset pairs"
        + (f" ({summary['measurements']} measurements)" if "measurements" in summary else ""),
        f"coverage    {summary['coverage']:.1%} of the {shape} matrix",
        f"metrics     {'; '.join(metrics) or 'none'}",
        f"similarity  {summary['similarity_rows']} data–data edges" + _similarity_source(summary),
        f"featurizer  {summary['featurizer'] or 'none (features imported as they are)'}",
    ]
    return "\n".join(lines)


def _similarity_source(summary: Mapping) -> str:
    if summary["similarity_rows"]:
        return " given"
    if summary.get("dataset_features", 1):
        return " (computed from dataset features)"
    return (" (none given and no dataset features to compute them: datasets cannot be compared, "
            "so only best_average and random can rank; import --similarity or --datasets too)")


# ---------------------------------------------------------------------------------- recommend
def ranking_text(result: Mapping, *, top: int | None = None) -> str:
    """``mandc recommend``: the ranking table (its first ``top`` rows; all by default), the
    datasets that drove it, and how to read it."""
    held = " (its own scores held out)" if result["held_out"] else ""
    head = (f"target {result['target']!r}{held} · method {result['method']} · "
            f"graph {result['graph']}")
    rows = result["ranking"][:top]
    columns = ["rank", "model", "predicted"]
    formats = dict.fromkeys(columns, significant)
    level = result.get("interval_level")
    banded = level is not None and any(row.get("low") is not None for row in rows)
    if banded:
        interval = f"{round(level * 100)}% interval"
        rows = [{**row, interval: _interval(row.get("low"), row.get("high"))} for row in rows]
        columns.append(interval)
    measured = any(row.get("measured") is not None for row in result["ranking"])
    if measured:
        columns.append("measured")
        formats["measured"] = significant
    parts = [head, "", table(rows, columns, formats=formats)]
    shown, total = len(rows), result["candidates"]
    if shown < total:
        parts.append(f"({total - shown} more of the {total} candidate models not shown; "
                     f"--top {total} lists them all)")
    direction = "higher" if result["higher_is_better"] else "lower"
    parts += ["", "predicted: the quality to expect after fine-tuning, in standard deviations "
              "above the average candidate on this dataset; higher is better."]
    if banded:
        parts.append(f"{interval}: on the scale of predicted, the range that held the measured "
                     f"quality for {round(level * 100)}% of models on held-out datasets "
                     "(split conformal, calibrated leave-one-dataset-out).")
    if measured:
        parts.append(f"measured: the {result['metric']} measured after fine-tuning on this "
                     f"dataset; {direction} is better.")
    if result["neighbours"]:
        near = ", ".join(f"{n['dataset']} ({n['similarity']:.2f}"
                         + (f", weight {n['weight']:.2f})" if "weight" in n else ")")
                         for n in result["neighbours"])
        parts += ["", f"most similar profiled datasets (similarity): {near}"]
    if result.get("probe_metrics"):
        parts += ["", "each model's zero-shot denoising probe of the target counted too "
                  f"({', '.join(result['probe_metrics'])})"]
    if result.get("load_report"):
        parts += ["", *load_report_lines(result["load_report"], result.get("load_notes", []))]
    return "\n".join(parts)


def _interval(low, high) -> str:
    if low is None or high is None:
        return "-"
    return f"[{significant(low)}, {significant(high)}]"


def load_report_lines(load_report: Mapping, notes: Sequence[str] = ()) -> list[str]:
    """What the loader read and left out (``ImageCaptionSet.report``), then its other notes."""
    seen, read = load_report["seen"], load_report["read"]
    head = (f"dataset: {read} images read of {seen} files seen "
            f"({load_report['not_sampled']} not sampled, {load_report['companion_files']} "
            "caption/metadata files)")
    lines = [head]
    for entry in load_report["left_out"].values():
        lines.append(f"  left out {entry['count']}: {entry['why']} "
                     f"(first: {', '.join(entry['first'])})")
    lines += [f"  note: {note}" for note in notes if not note.startswith("left out ")]
    return lines


# ---------------------------------------------------------------------------------- evaluate
def evaluation_legend(metric: str, spec: Mapping | None = None) -> str:
    """What each column of ``mandc evaluate`` means, in terms of the metric evaluated, and what
    that metric measures (from its declaration in graph.json, ``spec``)."""
    return (
        f"{metric_meaning(metric, spec)} Means over the datasets, best method first (top1, "
        f"then regret). top1 / top3: share of datasets whose best model by {metric} is ranked "
        f"first / in the first three; regret: how much worse the first-ranked model's {metric} "
        "is than the best model's (|log(pick/best)| for a log-scale metric such as FID, else "
        "relative to the best), lower is better; regret_median: its median over the datasets; "
        f"pearson, spearman: correlation of the predicted scores with the measured {metric}; "
        "ndcg3: how good the first three places are (NDCG@3). All but the regrets: higher is "
        "better.")


def metric_meaning(metric: str, spec: Mapping | None = None) -> str:
    """One sentence on what a graph's metric measures: a denoising probe (declared ``probe``),
    a zero-shot score of the base model, a score after fine-tuning, or a score imported as is."""
    spec = spec or {}
    direction = "lower" if spec.get("higher_is_better") is False else "higher"
    if spec.get("probe"):
        level = metric.rsplit("_", 1)[-1]
        what = ("the zero-shot denoising probe: mean squared error of each base model's "
                f"clean-image estimate from images noised to alpha_bar {level}, before any "
                "fine-tuning")
    elif metric.startswith("zero_shot_"):
        what = (f"the {metric.removeprefix('zero_shot_').upper()} of each base model's own "
                "images, before any fine-tuning")
    elif metric in ("fid", "kid"):
        what = f"the {metric.upper()} of each model's images after fine-tuning on the dataset"
    else:
        what = "the measure the graph records for each model on each dataset"
    return f"{metric} is {what}; {direction} is better."


def evaluation_text(report, graph: str, *, higher_is_better: bool,
                    metric_spec: Mapping | None = None) -> str:
    """``mandc evaluate``: what was evaluated on which graph, the methods best first, and one
    legend that says what each column means and which way is better."""
    direction = "higher" if higher_is_better else "lower"
    head = (f"leave-one-dataset-out on {report.datasets} datasets, {report.models} models · "
            f"graph {graph} · metric {report.metric} ({direction} is better)")
    summary = report.summary.sort_values(["top1", "regret"], ascending=[False, True],
                                         na_position="last", kind="stable")
    columns = ["method", *summary.columns]
    rows = [{"method": str(name), **row} for name, row in summary.to_dict(orient="index").items()]
    spec = {"higher_is_better": higher_is_better, **(metric_spec or {})}
    legend = evaluation_legend(report.metric, spec)
    return "\n".join([head, "", table(rows, columns), "",
                      textwrap.fill(legend, 100, break_on_hyphens=False)])


# ---------------------------------------------------------------------------------- describe
def descriptor_text(descriptor: Mapping) -> str:
    """``mandc describe``: fields as ``key value`` lines, vectors shown by their length; empty
    fields and covariance internals (``cov_*``, for similarity measures) are left to ``--json``."""
    hidden = ("load_report", "notes")
    shown = {k: v for k, v in descriptor.items()
             if not str(k).startswith("cov_") and v is not None and not _empty(v)
             and k not in hidden}
    width = max((len(str(k)) for k in shown), default=0)
    lines = [f"{str(key).ljust(width)}  {_short(value)}" for key, value in shown.items()]
    if descriptor.get("load_report"):
        lines += load_report_lines(descriptor["load_report"], descriptor.get("notes", []))
    else:
        lines += [f"note: {note}" for note in descriptor.get("notes", [])]
    return "\n".join(lines)


def _empty(value) -> bool:
    return isinstance(value, (list, tuple, dict, str)) and len(value) == 0


def _short(value) -> str:
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={_short(v)}" for k, v in value.items())
    if isinstance(value, (list, tuple, np.ndarray)):
        array = np.asarray(value)
        if array.dtype.kind in "fiu" and array.size > 6:
            return f"<vector of {array.size} numbers>"
        return ", ".join(_short(v) for v in value)
    if isinstance(value, (float, np.floating)):
        return f"{value:.4g}"
    return str(value)
