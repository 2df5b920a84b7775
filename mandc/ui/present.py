"""From a ranked answer to what the page shows: a rounded table and its legend, the plot's
data, the verdict in words, and the images behind the reasons.

Only formatting: every number comes from :func:`mandc.advise.advise`'s result or the graph's
own tables; a column the graph cannot fill (licence, parameters...) is left out, not guessed.
"""

from __future__ import annotations

import html
import math

import pandas as pd
from PIL import Image

from ..graph.views import score_matrix
from .service import ServedGraph

NOT_PROFILED = "not profiled"
COST_COLUMN = "fine-tune (s)"
NO_ESTIMATE = "–"
NEIGHBOUR_COLUMNS = ["dataset", "similarity", "weight"]
GRIDS_PER_NEIGHBOUR = 2
REAL_PER_NEIGHBOUR = 3
_LICENCE_COLUMNS = ("license", "licence")
PHONE_HIDDEN_COLUMNS = ("measured rank", "params (M)", "resolution (px)")
"""Left out of the ranking on a phone, so that the rest fits its width unscrolled: each is
implied by a column kept (the measured figure) or matters less when choosing."""
PHONE_BREAK_ANYWHERE = ("model", "licence")
"""Wrapped anywhere on a phone, not only between words: a Hub id or licence is one long word."""


def metric_name(metric: str) -> str:
    return metric.upper() if len(metric) <= 4 else metric.replace("_", " ")


def interval_name(result: dict) -> str | None:
    """The predicted column's name when every row has an interval (``None``: no interval)."""
    level = result.get("interval_level")
    rows = result["ranking"]
    if not level or not rows or any(row.get("low") is None or row.get("high") is None
                                    for row in rows):
        return None
    return f"predicted ({level:.0%} interval)"


def ranking_table(result: dict, graph, top: int,
                  candidates: pd.DataFrame | None = None, costs=None) -> pd.DataFrame:
    """The ranked rows (best ``top``): rank, model (a Hub link where it is a Hub model, marked
    “not profiled” where the graph never profiled it), predicted score with its interval, the
    measured figure and its rank where profiled, the fine-tune cost (``costs``: a
    :class:`.cost.FinetuneCosts`), and the model facts the graph's model table (or, for a model
    only in ``candidates``, the catalogue) holds."""
    rows = result["ranking"][:top]
    arrow = "↑" if result["higher_is_better"] else "↓"
    measured_name = f"measured {metric_name(result['metric'])} {arrow}"
    facts = model_facts(graph, candidates)
    hub = set(facts.index[facts["source"].astype(str) == "hub"]) if "source" in facts else set()
    banded = interval_name(result)
    table = pd.DataFrame({
        "rank": [row["rank"] for row in rows],
        "model": [_model_cell(row, hub) for row in rows],
        banded or "predicted": [_banded(row) if banded else _round(row["predicted"], 2)
                                for row in rows],
    })
    measured = [row.get("measured") for row in result["ranking"]]
    if any(value is not None for value in measured):
        table[measured_name] = [NOT_PROFILED if row.get("measured") is None
                                else _significant(row["measured"]) for row in rows]
        order = measured_ranks(result["ranking"], result["higher_is_better"])
        table["measured rank"] = [order.get(row["model"], "") for row in rows]
    ids = [row["model"] for row in rows]
    if costs is not None and costs.measured:
        params = facts["params"] if "params" in facts else pd.Series(dtype=float)
        table[COST_COLUMN] = [_cost_cell(costs.of(m, _number(params.get(m)))) for m in ids]
    if "params" in facts:
        table["params (M)"] = [_round(_number(facts["params"].get(m)) / 1e6, 2) for m in ids]
    if "resolution" in facts:
        table["resolution (px)"] = [_integer(facts["resolution"].get(m)) for m in ids]
    for column in _LICENCE_COLUMNS:
        if column in facts:
            table["licence"] = [str(facts[column].get(m) or "") for m in ids]
            break
    return table


def model_facts(graph, candidates: pd.DataFrame | None = None) -> pd.DataFrame:
    """The graph's model table indexed by model, with the rows of catalogue ``candidates`` the
    graph does not have (their facts as the catalogue lists them)."""
    facts = graph.models.set_index("model", drop=False)
    if candidates is not None and len(candidates):
        listed = candidates.assign(model=candidates["id"].astype(str)).set_index("model",
                                                                                   drop=False)
        cold = listed[~listed.index.isin(facts.index)]
        if len(cold):
            facts = pd.concat([facts, cold.reindex(columns=facts.columns)])
    return facts


def _banded(row: dict) -> str:
    """``0.85 [0.31, 1.39]``: the prediction and its interval, two decimals."""
    return (f"{_fixed(row['predicted'])} [{_fixed(row['low'])}, {_fixed(row['high'])}]"
            if row.get("predicted") is not None else "")


def _fixed(value: float) -> str:
    text = f"{value:.2f}"
    return "0.00" if text == "-0.00" else text


def _cost_cell(cost) -> str:
    """``5.3 (H200)`` measured, ``≈5.7 (H200, est.)`` estimated, ``–`` neither."""
    if cost is None:
        return NO_ESTIMATE
    from .cost import short_device

    seconds = f"{cost.seconds:.2g}" if cost.seconds < 10 else f"{cost.seconds:.0f}"
    where = ", ".join(part for part in (short_device(cost.device),
                                        "" if cost.measured else "est.") if part)
    return f"{'' if cost.measured else '≈'}{seconds}" + (f" ({where})" if where else "")


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


def legend(result: dict, table: pd.DataFrame, costs=None) -> str:
    """What each column of ``table`` means and which way is better (``costs``: the
    :class:`.cost.FinetuneCosts` behind a fine-tune column)."""
    name = metric_name(result["metric"])
    direction = "higher" if result["higher_is_better"] else "lower"
    banded = interval_name(result)
    lines = ["**How to read the table**",
             "- **rank**: 1 is the model predicted to fine-tune best on your images.",
             "- **model**: the candidate (a link to its Hub page where it is on the Hub).",
             f"- **{banded or 'predicted'}** (higher is better): the predicted quality after "
             f"fine-tuning, as a z-score of {name} among the candidates, signed so that higher "
             f"is better whichever way {name} goes (0 = average candidate, +1 = one standard "
             "deviation better)."]
    if banded:
        lines.append(f"  In brackets, the {result['interval_level']:.0%} interval: the range "
                     "that held that share of this graph's own predictions when each profiled "
                     "dataset was predicted without its scores (split conformal prediction). "
                     "Overlapping intervals mean the order between those models is uncertain.")
    else:
        lines.append("  This method gives no interval, so none is shown.")
    if any(row.get("profiled") is False for row in result["ranking"]):
        lines.append(f"- “{NOT_PROFILED}” beside a model: the graph never profiled it, so its "
                     "score is predicted from its features and lineage (its closest profiled "
                     "models), less surely than the others'"
                     + (": its interval is the profiled one widened by the ratio of their "
                        "errors, not calibrated on held-out models." if banded else "."))
    held = " It was predicted *without* this dataset's own scores (held out)." \
        if result.get("held_out") else ""
    for column in table.columns:
        if column.startswith("measured ") and column != "measured rank":
            lines.append(f"- **{column}** ({direction} is better): {name} measured after "
                         f"really fine-tuning the model on this dataset; “{NOT_PROFILED}” "
                         f"where that pair was not run.{held}")
        elif column == "measured rank":
            lines.append("- **measured rank**: the model's place by the measured figure.")
        elif column == COST_COLUMN and costs is not None:
            lines.append(cost_legend(costs))
        elif column == "params (M)":
            lines.append("- **params (M)**: parameters in millions (smaller is cheaper to "
                         "fine-tune).")
        elif column == "resolution (px)":
            lines.append("- **resolution (px)**: the model's native image size.")
        elif column == "licence":
            lines.append("- **licence**: the model's licence, as its card states it.")
    narrow = [column for column in PHONE_HIDDEN_COLUMNS if column in table.columns]
    if narrow:  # the last paragraph: the app shows it on narrow screens only
        lines += ["", f"On a phone held upright the table leaves out {_listed(narrow)}; "
                  "turn it sideways, or open the result as JSON below, to see them."]
    return "\n".join(lines)


def _listed(names: list[str]) -> str:
    """``a``, ``a and b``, ``a, b and c``, each in bold."""
    bold = [f"**{name}**" for name in names]
    return bold[0] if len(bold) == 1 else f"{', '.join(bold[:-1])} and {bold[-1]}"


def cost_legend(costs) -> str:
    """The fine-tune column's line: unit, recipe, machines (as the run records name them)."""
    from .cost import EXTRAPOLATION, NOT_RECORDED, short_device

    machines = "; ".join(
        f"{short_device(d)} = {d}" if short_device(d) and short_device(d) != d else d
        for d in costs.devices())
    text = (f"- **{COST_COLUMN}** (lower is cheaper): median wall-clock seconds of the model's "
            f"LoRA fine-tune in this graph's profiling runs ({costs.recipe_text()}), on the "
            f"machine in brackets as the run records name it ({machines}); seconds from "
            "different machines do not compare")
    if NOT_RECORDED in costs.devices():
        text += " (no brackets: the records do not name the machine)"
    text += "."
    if costs.exponent is not None:
        low, high = costs.sizes
        text += (f" “est.”: no run here; estimated from the parameter count (seconds ∝ "
                 f"params^{costs.exponent:.2f}, fitted on {costs.fitted_on} models measured on "
                 f"{short_device(costs.reference) or 'one machine'}, {low / 1e6:.2g}–"
                 f"{high / 1e6:.2g} M params). “{NO_ESTIMATE}”: no estimate, the model is over "
                 f"{EXTRAPOLATION:.0f}× outside those sizes.")
    else:
        text += f" “{NO_ESTIMATE}”: no run of that model here."
    return text


PLOT_ROW = 32
"""Pixels per candidate: its name on one line, its dot and band on the next."""
PLOT_TOP = 4
PLOT_AXIS = 22
PLOT_FONT = 13
"""Pixels, at any screen width: the drawing has no viewBox, so text is never scaled down (in a
480-unit viewBox at 13 units, a 390 px phone drew the names at 8 px)."""
PLOT_LABEL_CHARS = 36
"""Longer names are cut in the middle, keeping the owner and the version at the end
(``stabilityai/stable-…-xl-base-1.0``): Hub ids of one family differ most at their ends."""
PLOT_MARGIN = 3.0
"""Per cent of the width left on each side of the axis, for the end ticks' numbers."""


def _shortened(name: str, limit: int = PLOT_LABEL_CHARS) -> str:
    """``name`` in at most ``limit`` characters, cut in the middle with an ellipsis."""
    if len(name) <= limit:
        return name
    tail = (limit - 1) // 2
    return name[:limit - 1 - tail] + "…" + name[-tail:]


def plot_html(result: dict) -> str:
    """Every candidate's predicted score (a dot) and its interval (a bar), best first, as an
    inline SVG: drawn here so that the bands need no plotting library, and readable as text.
    A never-profiled model is a hollow dot on a dashed bar. Positions along the axis are per
    cent of the width and text is in pixels, so the drawing fills a phone or a desktop column
    with legible names; each name sits above its bar, and the key and the axis title are HTML
    lines that wrap."""
    rows = [row for row in result["ranking"] if row.get("predicted") is not None]
    if not rows:
        return ""
    banded = interval_name(result) is not None
    values = [row["predicted"] for row in rows]
    if banded:
        values += [row["low"] for row in rows] + [row["high"] for row in rows]
    low, high = min(values + [0.0]), max(values + [0.0])
    pad = (high - low) * 0.05 or 0.5
    low, high = low - pad, high + pad

    def x(value: float) -> str:
        return f"{PLOT_MARGIN + (value - low) / (high - low) * (100 - 2 * PLOT_MARGIN):.1f}%"

    bottom = PLOT_TOP + PLOT_ROW * len(rows)
    height = bottom + PLOT_AXIS
    key = "● predicted"
    if banded:
        key += f"   ━ {result['interval_level']:.0%} interval"
    if any(row.get("profiled") is False for row in rows):
        key += "   ○ not profiled (wider band)"
    parts = [f'<div style="white-space:pre-wrap">{html.escape(key)}</div>',
             f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" height="{height}" '
             'role="img" aria-label="Predicted quality of every candidate" '
             f'style="display:block;font:{PLOT_FONT}px sans-serif">',
             f'<line x1="{x(0)}" y1="{PLOT_TOP}" x2="{x(0)}" y2="{bottom}" '
             'stroke="#999" stroke-dasharray="3 3"/>']
    for tick in _ticks(low, high):
        parts.append(f'<line x1="{x(tick)}" y1="{bottom}" x2="{x(tick)}" y2="{bottom + 4}" '
                     f'stroke="#999"/><text x="{x(tick)}" y="{bottom + 18}" '
                     f'text-anchor="middle" fill="currentColor">{tick:g}</text>')
    for k, row in enumerate(rows):
        top = PLOT_TOP + PLOT_ROW * k
        y = top + PLOT_ROW - 8
        cold = row.get("profiled") is False
        name = row["model"]
        label = _shortened(name)
        tip = f"{name}: " + (_banded(row) if banded else _fixed(row["predicted"]))
        parts.append(f'<g class="candidate"><title>{html.escape(tip)}</title>'
                     f'<text x="0" y="{top + PLOT_FONT}" fill="currentColor">'
                     f'{html.escape(label)}</text>')
        if banded:
            parts.append(f'<line class="band" x1="{x(row["low"])}" y1="{y}" x2="{x(row["high"])}"'
                         f' y2="{y}" stroke="#4f7fd1" stroke-width="3"'
                         + (' stroke-dasharray="5 3"' if cold else '') + '/>')
        parts.append(f'<circle cx="{x(row["predicted"])}" cy="{y}" r="5" stroke="#1d3f8f" '
                     f'stroke-width="2" fill="{"white" if cold else "#1d3f8f"}"/></g>')
    parts.append("</svg>")
    parts.append(f'<div style="text-align:center">{html.escape(_axis_title(result))}</div>')
    return f'<div class="mandc-plot" style="max-width:720px">{"".join(parts)}</div>'


def _axis_title(result: dict) -> str:
    """The plot's axis: what the score is and which way is better, also for the metric itself."""
    name = metric_name(result["metric"])
    if result["higher_is_better"]:
        return f"predicted quality (z-score of {name}): higher is better"
    return f"predicted quality: higher is better ({name} itself: lower)"


def _ticks(low: float, high: float) -> list[float]:
    """Round tick values across [low, high]: about five, on steps of 1, 2 or 5 × 10^k."""
    span = high - low
    step = 10 ** math.floor(math.log10(span / 5))
    step *= next(m for m in (1, 2, 5, 10) if span / (step * m) <= 6)
    first = math.ceil(low / step) * step
    return [round(first + i * step, 10) for i in range(int((high - first) / step) + 1)]


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


def contenders(result: dict) -> list[str]:
    """Models whose interval reaches the top pick's: the ranking cannot tell them apart."""
    if interval_name(result) is None:
        return []
    first, *rest = result["ranking"]
    return [row["model"] for row in rest if row["high"] >= first["low"]]


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
    close = contenders(result)
    if close:
        names = " and ".join(f"**{m}**" for m in close[:2]) + \
            (f" and {len(close) - 2} more" if len(close) > 2 else "")
        text += (f" Its {result['interval_level']:.0%} interval overlaps those of {names}: "
                 "their order is uncertain, so compare them (a preview fine-tune helps).")
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
