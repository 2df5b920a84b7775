"""What keeps the Space's answers fast: an upload ranked again reuses its placement and fitted
methods, and the serving process runs its small algebra on one BLAS thread."""

from __future__ import annotations

import pytest
from threadpoolctl import threadpool_info

import mandc.advise
import mandc.graph.placement
from mandc.ui.rank import recommend
from mandc.ui.service import MAX_PLACED, GraphServer, Placed

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def server():
    return GraphServer()


def _ranking(answer) -> list[tuple[str, float]]:
    return [(row["model"], row["predicted"]) for row in answer.result["ranking"]]


def test_warming_loads_the_encoders_before_the_first_upload(server, monkeypatch):
    from mandc.features import get_featurizer

    featurizer = get_featurizer(server.default.graph.meta["featurizer"].split("@", 1)[0])
    calls, load = [], type(featurizer).load
    # recorded, not skipped, when another test module loaded the encoders already
    monkeypatch.setattr(type(featurizer), "load", lambda self: calls.append(self) or load(self))
    thread = server.warm(method="best_average")  # the cheap method: the fits are not the point
    thread.join(600)
    assert not thread.is_alive()
    assert calls and calls[0] is featurizer and featurizer.loaded
    assert len(server.default.fitted) == len(server.default.graph.dataset_ids)


def test_the_same_upload_again_is_neither_placed_nor_fitted_again(server, monkeypatch):
    fits, placements = [], []
    make_method, add_target = mandc.advise.make_method, mandc.graph.placement.add_target
    monkeypatch.setattr(mandc.advise, "make_method",
                        lambda name, **kw: fits.append(name) or make_method(name, **kw))
    monkeypatch.setattr(mandc.graph.placement, "add_target",
                        lambda graph, d: placements.append(d.dataset) or add_target(graph, d))
    served = server.default

    def rank(method="mandc"):
        return recommend(served, profiled=None, hub_id=None, uploads=None, method=method,
                         probe=False, example="flowers")

    first = rank()
    again = rank()
    assert fits == ["mandc"] and len(placements) == 1
    assert _ranking(again) == _ranking(first)
    assert again.graph is first.graph and first.result["target"] in first.graph.dataset_ids
    rank("best_average")  # another method: fitted once, on the same placement
    assert fits == ["mandc", "best_average"] and len(placements) == 1


def test_placements_kept_are_bounded(server):
    served = GraphServer().default
    graph = served.graph
    for k in range(MAX_PLACED + 3):
        served.keep_placed((f"fingerprint-{k}", "upload"), Placed(graph, f"t{k}"))
    assert served.placed(("fingerprint-0", "upload")) is None  # the oldest went first
    assert served.placed((f"fingerprint-{MAX_PLACED + 2}", "upload")).target == \
        f"t{MAX_PLACED + 2}"


def test_the_server_runs_numpys_blas_on_one_thread(server):
    blas = [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
    assert blas and all(pool["num_threads"] == 1 for pool in blas)



def test_a_warm_request_predicts_once(server, monkeypatch):
    """The ranking, its explanation and the similar datasets share one forest prediction."""
    from mandc.ranking.recommend import Recommender

    served = server.default
    dataset = served.graph.dataset_ids[0]
    recommend(served, profiled=dataset, hub_id=None, uploads=None, method="mandc", probe=False)
    calls = []
    predict = Recommender._predict
    monkeypatch.setattr(Recommender, "_predict",
                        lambda self, d: calls.append(d) or predict(self, d))
    answer = recommend(served, profiled=dataset, hub_id=None, uploads=None, method="mandc",
                       probe=False)
    assert calls == [dataset]
    assert answer.result["neighbours"] and dataset not in {
        row["dataset"] for row in answer.result["neighbours"]}


def test_distinct_new_uploads_share_one_fit(server, monkeypatch, tmp_path):
    """Uploads are ranked out of sample by the fit kept for the graph: a second, different
    upload is placed (its own data–data edges) but fits nothing."""
    from mandc.minizoo.domains import HELD_OUT_DOMAINS, sample

    served = GraphServer().default  # its own kept fits, whatever the other tests did
    fits = []
    make_method = mandc.advise.make_method
    monkeypatch.setattr(mandc.advise, "make_method",
                        lambda name, **kw: fits.append((name, kw)) or make_method(name, **kw))
    answers = []
    for k, domain in enumerate(HELD_OUT_DOMAINS[:2]):
        folder = tmp_path / f"upload-{k}"
        folder.mkdir()
        paths = []
        for i, (image, caption) in enumerate(zip(*sample(domain, 12, size=64, seed=k))):
            image.save(folder / f"{i}.png")
            (folder / f"{i}.txt").write_text(caption)
            paths += [str(folder / f"{i}.png"), str(folder / f"{i}.txt")]
        answers.append(recommend(served, profiled=None, hub_id=None, uploads=paths,
                                 method="mandc", probe=False))
    assert [(name, kw.get("transductive")) for name, kw in fits] == [("mandc", False)]
    assert answers[0].graph is not answers[1].graph  # each placed in a graph of its own
    assert answers[0].result["ranking"] and answers[1].result["neighbours"]
