"""The app's callback on the default (shipped mini-zoo) graph; the browser test is a later issue."""

from mandc.ui import build_app, recommend_callback


def test_callback_ranks_a_profiled_dataset_and_explains_it():
    status, ranking, neighbours = recommend_callback(None, "scenes-day", None, None, "mandc", 3)
    assert "Fine-tune" in status and "scenes-day" in status
    assert list(ranking["rank"]) == [1, 2, 3]
    assert ranking["model"].iloc[0] in status
    assert len(neighbours) >= 1 and "scenes-day" not in set(neighbours["dataset"])
    # a profiled dataset of the shipped graph already has its probes: mandc reads them
    assert "zero-shot denoising probe of the target counted too (4 noise levels)" in status
    status, _, _ = recommend_callback(None, "scenes-day", None, None, "nearest_dataset", 3,
                                      True)
    assert "Fine-tune" in status and "probe" not in status  # the baseline reads no probes


def test_callback_without_a_target_asks_for_one():
    status, ranking, _ = recommend_callback(None, None, "  ", [], "mandc", 3)
    assert "Choose a profiled dataset" in status and ranking.empty


def test_callback_reports_errors_in_the_page_not_as_a_crash():
    status, ranking, _ = recommend_callback(None, None, "no-such-dataset", None, "mandc", 3)
    assert status.startswith("**Could not rank models:**") and "no-such-dataset" in status
    assert ranking.empty


def test_app_builds_with_the_graph_datasets_to_choose_from():
    app = build_app()
    assert app.title == "M&C · Match & Choose"
