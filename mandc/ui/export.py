"""The answer to take away: the whole result as JSON, and the "Why this base model" section
for the fine-tuned model's card, rendered by :func:`mandc.hub.cards.why_section` (the section
``mandc card`` writes, between the same markers, so ``mandc card`` can update it later).
"""

from __future__ import annotations

import json
import re
import shutil
import tempfile
import threading
from collections import deque
from pathlib import Path

KEPT_EXPORTS = 64
"""Requests whose download files are kept on disk (Gradio serves its own copy of each)."""
CARD_TOP = 3
SPACE_FOOTER = ("Written by the M&C Space; `mandc card OWNER/MODEL --dataset DATASET` updates "
                "this section in place.")

_lock = threading.Lock()
_folders: deque[Path] = deque()


def result_payload(result: dict, served, costs=None, facts=None) -> dict:
    """``advise``'s result with the graph it came from and each row's fine-tune cost
    (``facts``: the models' table, :func:`.present.model_facts`, for their parameters)."""
    payload = {**result, "graph": served.label, "graph_source": dict(served.source)}
    if costs is not None and costs.measured:
        params = facts["params"] if facts is not None and "params" in facts else {}
        rows = []
        for row in result["ranking"]:
            cost = costs.of(row["model"], _number(params.get(row["model"])))
            rows.append({**row, "finetune_cost": cost.to_dict() if cost else None})
        payload["ranking"] = rows
        payload["finetune_cost_recipe"] = costs.recipe
    return payload


def card_section(result: dict, served) -> str:
    """The "Why this base model" section for the top-ranked model, between its markers."""
    from ..hub.cards import GraphSource, why_section, with_section

    rows = result["ranking"]
    graph = served.graph
    section = why_section({**result, "ranking": rows[:CARD_TOP], "all": rows},
                          rows[0]["model"], GraphSource(**served.source),
                          {"models": len(graph.models), "datasets": len(graph.datasets),
                           "scores": len(graph.scores)}, footer=SPACE_FOOTER)
    return with_section("", section)


def write_exports(payload: dict, section: str) -> list[str]:
    """The two download files of one answer, in a fresh private folder: ``mandc-<target>.json``
    and ``why-base-model-<target>.md``. Old folders beyond :data:`KEPT_EXPORTS` are removed."""
    folder = Path(tempfile.mkdtemp(prefix="mandc-export-"))
    name = re.sub(r"[^A-Za-z0-9._-]+", "-", str(payload.get("target") or "result"))[:60]
    data = folder / f"mandc-{name}.json"
    card = folder / f"why-base-model-{name}.md"
    data.write_text(json.dumps(payload, indent=1, default=str) + "\n")
    card.write_text(section)
    with _lock:
        _folders.append(folder)
        while len(_folders) > KEPT_EXPORTS:
            shutil.rmtree(_folders.popleft(), ignore_errors=True)
    return [str(data), str(card)]


def _number(value) -> float | None:
    try:
        return float(value)
    except (TypeError, ValueError):
        return None
