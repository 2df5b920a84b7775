"""From a ranked answer to what the page shows: a rounded table and its legend, the plot's
data, the verdict in words, and the images behind the reasons.

Only formatting: every number comes from :func:`mandc.advise.advise`'s result or the graph's
own tables; a column the graph cannot fill (licence, parameters...) is left out, not guessed.
"""

from __future__ import annotations

import math

import pandas as pd
from PIL import Image

from ..graph.views import score_matrix
from .service import ServedGraph

NOT_PROFILED = "not profiled"
NEIGHBOUR_COLUMNS = ["dataset", "similarity", "weight"]
GRIDS_PER_NEIGHBOUR = 2
REAL_PER_NEIGHBOUR = 3
_LICENCE_COLUMNS = ("license", "licence")


def metric_name(metric: str) -> str:
    return metric.upper() if len(metric) <= 4 else metric.replace("_", " ")


def ranking_table(result: dict, graph, top: int,
                  candidates: pd.DataFrame | None = None) -> pd.DataFrame:
    """The ranked rows (best ``top``): rank, model (a Hub link where it is a Hub model, marked
    “not profiled” where the graph never profiled it), predicted score, the measured figure and
    its rank where profiled, and the model facts the graph's model table (or, for a model only
    in ``candidates``, the catalogue) holds."""
    rows = result["ranking"][:top]
    arrow = "↑" if result["higher_is_better"] else "↓"
    measured_name = f"measured {metric_name(result['metric'])} {arrow}"
    facts = graph.models.set_index("model", drop=False)
    hub = set(facts.index[facts["source"].astype(str) == "hub"]) if "source" in facts else set()
    if candidates is not None and len(candidates):
        listed = candidates.assign(model=candidates["id"].astype(str)).set_index("model",
                                                                                   drop=False)
        cold = listed[~listed.index.isin(facts.index)]
        hub |= set(cold.index[cold["source"].astype(str) == "hub"]) if "source" in cold else set()
        if len(cold):
            facts = pd.concat([facts, cold.reindex(columns=facts.columns)])
    table = pd.DataFrame({
        "rank": [row["rank"] for row in rows],
        "model": [_model_cell(row, hub) for row in rows],
        "predicted": [_round(row["predicted"], 2) for row in rows],
    })
    measured = [row.get("measured") for row in result["ranking"]]
    if any(value is not None for value in measured):
        table[measured_name] = [NOT_PROFILED if row.get("measured") is None
                                else _significant(row["measured"]) for row in rows]
        order = measured_ranks(result["ranking"], result["higher_is_better"])
        table["measured rank"] = [order.get(row["model"], "") for row in rows]
    ids = [row["model"] for row in rows]
    if "params" in facts:
        table["params (M)"] = [_round(_number(facts["params"].get(m)) / 1e6, 2) for m in ids]
    if "resolution" in facts:
        table["resolution (px)"] = [_integer(facts["resolution"].get(m)) for m in ids]
    for column in _LICENCE_COLUMNS:
        if column in facts:
            table["licence"] = [str(facts[column].get(m) or "") for m in ids]
            break
    return table


def _model_cell(row: dict, hub: set) -> str:
    model = row["model"]
    cell = f"[{model}](https://huggingface.co/{model})" if model in hub else model
    return cell if row.get("profiled", True) else f"{cell} *({NOT_PROFILED})*"


def load_summary(result: dict) -> str:
    """What the loader read of the visitor's dataset and what it left out, why, with the first
    names (empty for a dataset of the graph, which was not read here)."""
    report = result.get("load_report")
    if not report:
        return ""
    text = (f"**Your dataset:** {report['read']} images described"
            + (f", {report['not_sampled']} not sampled" if report.get("not_sampled") else "")
            + ".")
    found = [f"left out {left['count']}: {left['why']} (first: {', '.join(left['first'])})"
             for left in report.get("left_out", {}).values()]
    found += [note for note in result.get("load_notes", []) if note not in found]
    lines = [text] + [f"- {line}" for line in found]
    return "\n".join(lines)


def measured_ranks(ranking: list[dict], higher_is_better: bool) -> dict[str, int]:
    """Each profiled model's place by its measured figure (1 = best measured)."""
    measured = [(row["measured"], row["model"]) for row in ranking
                if row.get("measured") is not None]
    measured.sort(key=lambda pair: (-pair[0] if higher_is_better else pair[0], pair[1]))
    return {model: k for k, (_, model) in enumerate(measured, start=1)}


def legend(result: dict, table: pd.DataFrame) -> str:
    """What each column of ``table`` means and which way is better."""
    name = metric_name(result["metric"])
    direction = "higher" if result["higher_is_better"] else "lower"
    lines = ["**How to read the table**",
             "- **rank**: 1 is the model predicted to fine-tune best on your images.",
             "- **model**: the candidate (a link to its Hub page where it is on the Hub).",
             f"- **predicted** (higher is better): the predicted quality after fine-tuning, as "
             f"a z-score of {name} among the candidates (0 = average candidate, +1 = one "
             f"standard deviation better). The recommender gives no uncertainty band, so none "
             f"is shown."]
    if any(row.get("profiled") is False for row in result["ranking"]):
        lines.append(f"- “{NOT_PROFILED}” beside a model: the graph never profiled it, so its "
                     "score is predicted from its features and lineage (its closest profiled "
                     "models), less surely than the others'.")
    held = " It was predicted *without* this dataset's own scores (held out)." \
        if result.get("held_out") else ""
    for column in table.columns:
        if column.startswith("measured ") and column != "measured rank":
            lines.append(f"- **{column}** ({direction} is better): {name} measured after "
                         f"really fine-tuning the model on this dataset; “{NOT_PROFILED}” "
                         f"where that pair was not run.{held}")
        elif column == "measured rank":
            lines.append("- **measured rank**: the model's place by the measured figure.")
        elif column == "params (M)":
            lines.append("- **params (M)**: parameters in millions (smaller is cheaper to "
                         "fine-tune).")
        elif column == "resolution (px)":
            lines.append("- **resolution (px)**: the model's native image size.")
        elif column == "licence":
            lines.append("- **licence**: the model's licence, as its card states it.")
    return "\n".join(lines)


def plot_data(result: dict) -> pd.DataFrame:
    """Predicted score per model, for the bar plot (every candidate, best first)."""
    return pd.DataFrame({"model": [row["model"] for row in result["ranking"]],
                         "predicted": [_round(row["predicted"], 3) for row in result["ranking"]]})


def neighbour_table(result: dict) -> pd.DataFrame:
    table = pd.DataFrame(result["neighbours"]).reindex(columns=NEIGHBOUR_COLUMNS)
    return table.round({"similarity": 3, "weight": 3})


def best_measured(graph, metric: str, dataset: str, higher_is_better: bool) -> list[tuple]:
    """(model, measured figure) on a profiled ``dataset``, best first."""
    column = score_matrix(graph, metric).get(dataset)
    if column is None:
        return []
    column = column.dropna()
    column = column.sort_values(ascending=not higher_is_better, kind="stable")
    return [(str(model), float(value)) for model, value in column.items()]


def verdict(result: dict, graph, profiled: bool) -> str:
    """The answer in plain words: the pick, the similar datasets it rests on, what did best
    there, and (for a profiled dataset) how the pick compares with what was measured."""
    ranking, name = result["ranking"], metric_name(result["metric"])
    first = ranking[0]["model"]
    runners = [row["model"] for row in ranking[1:3]]
    text = f"### Fine-tune **{first}**"
    if runners:
        text += f" (then {' and '.join(runners)})"
    text += f"\nfor `{result['target']}`, best of {result['candidates']} candidates."
    near = result["neighbours"][:2]
    if near:
        names = " and ".join(f"**{n['dataset']}**" for n in near)
        text += f" Your images are closest to {names} among the profiled datasets"
        best = best_measured(graph, result["metric"], near[0]["dataset"],
                             result["higher_is_better"])
        if best:
            text += (f"; on {near[0]['dataset']}, **{best[0][0]}** fine-tuned best "
                     f"({name} {_significant(best[0][1])})")
        text += "."
    if profiled:
        places = measured_ranks(ranking, result["higher_is_better"])
        best_model = min(places, key=places.get) if places else None
        if best_model is not None:
            predicted_place = next(r["rank"] for r in ranking if r["model"] == best_model)
            text += (f" This dataset was profiled: the best measured model is **{best_model}**, "
                     f"ranked {predicted_place} by a prediction made without this dataset's own "
                     "scores.")
    if result["method"] != "mandc":
        text += f" *Ranked by the comparison method `{result['method']}`, not M&C.*"
    return text


def reason_gallery(served: ServedGraph, result: dict, graph) -> list[tuple[str, str]]:
    """For each similar profiled dataset: a few of its real images (when they can be drawn) and
    the sample grids of the models that fine-tuned best on it, as profiling kept them."""
    items = []
    for near in result["neighbours"]:
        dataset = near["dataset"]
        items += [(path, f"{dataset}: a real image")
                  for path in real_images(served, dataset, REAL_PER_NEIGHBOUR)]
        best = best_measured(graph, result["metric"], dataset, result["higher_is_better"])
        shown = 0
        for model, value in best:
            grid = served.sample_grid(model, dataset)
            if grid is None:
                continue
            path = served.images.path(f"grid/{model}/{dataset}", lambda g=grid: _read(g))
            items.append((path, f"{dataset}: {model} after fine-tuning "
                                f"({metric_name(result['metric'])} {_significant(value)})"))
            shown += 1
            if shown == GRIDS_PER_NEIGHBOUR:
                break
    return items


def real_images(served: ServedGraph, dataset: str, n: int) -> list[str]:
    """Files of ``n`` real images of a profiled dataset when it is a mini-zoo domain (the
    domains are procedural, so they are drawn rather than stored), else none."""
    from ..minizoo.domains import DOMAINS, sample

    if dataset not in set(DOMAINS.names()):
        return []
    images = []
    for i in range(n):
        images.append(served.images.path(
            f"real/{dataset}/{i}", lambda i=i: sample(dataset, i + 1, size=64)[0][i]))
    return images


def thumbnails(images: list[Image.Image], side: int = 256) -> list[Image.Image]:
    """The visitor's images made small enough to send back quickly."""
    shown = []
    for image in images:
        image = image.copy()
        image.thumbnail((side, side))
        shown.append(image)
    return shown


def _read(path) -> Image.Image:
    with Image.open(path) as image:
        return image.convert("RGB")


def _round(value, digits: int):
    return None if value is None or not math.isfinite(value) else round(float(value), digits)


def _significant(value: float) -> float:
    """Four significant figures: FID 193.97913 → 194.0, KID 0.0123456 → 0.01235."""
    return float(f"{value:.4g}")


def _number(value) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def _integer(value):
    number = _number(value)
    return int(number) if math.isfinite(number) else None
