"""The Space's preview fine-tunes: the profiling code with a lighter recipe, on one torch thread,
k models in one request (the launched app's k = 1 preview is in ``test_ui.py`` and the browser
test)."""

import numpy as np
import pytest
import torch

import mandc.profile.finetune as finetune
from mandc.minizoo.domains import sample
from mandc.profile.recipe import Recipe
from mandc.ui.preview import PREVIEW_RECIPE, PREVIEW_THREADS, preview_finetunes

TINY = ["gradients-tiny", "grids-tiny", "generalist-tiny"]
"""The mini zoo's three narrow models, the quickest to fine-tune."""


def test_the_preview_recipe_is_the_profiling_recipe_made_lighter():
    profiling = Recipe()
    assert type(PREVIEW_RECIPE) is Recipe
    assert PREVIEW_RECIPE.steps * PREVIEW_RECIPE.batch_size <= \
        profiling.steps * profiling.batch_size / 10
    assert PREVIEW_RECIPE.num_inference_steps <= profiling.num_inference_steps
    assert PREVIEW_RECIPE.train_samples < profiling.train_samples
    # what shapes the model and its images stays the profiling recipe's
    for kept in ("rank", "resolution", "guidance_scale", "seed"):
        assert getattr(PREVIEW_RECIPE, kept) == getattr(profiling, kept)


@pytest.mark.slow
def test_a_k3_preview_tunes_each_model_with_the_profiling_code_on_one_thread(monkeypatch):
    recipe = Recipe(steps=2, batch_size=2, num_inference_steps=2, train_samples=4,
                    eval_samples=2)
    images, captions = sample("gradients-radial", 6)
    calls = []

    def spied(function):
        def wrapper(*args, **kwargs):
            calls.append((function.__name__, torch.get_num_threads(), kwargs))
            return function(*args, **kwargs)
        return wrapper

    for name in ("finetune_lora", "generate"):
        monkeypatch.setattr(finetune, name, spied(getattr(finetune, name)))
    threads = torch.get_num_threads()
    torch.set_num_threads(2)
    try:
        results = preview_finetunes(TINY, images, captions, recipe=recipe)
        assert torch.get_num_threads() == 2  # the server's own count is given back
    finally:
        torch.set_num_threads(threads)

    assert [r["model"] for r in results] == TINY
    for result in results:
        assert result["seconds"] > 0 and len(result["images"]) == recipe.eval_samples
        assert {image.size for image in result["images"]} == {(32, 32)}
        assert all(np.asarray(image).std() > 0 for image in result["images"])
    assert [name for name, _, _ in calls] == ["finetune_lora", "generate"] * 3
    assert {count for _, count, _ in calls} == {PREVIEW_THREADS}
    tune, make = calls[0][2], calls[1][2]
    assert {k: tune[k] for k in recipe.finetune_kwargs()} == recipe.finetune_kwargs()
    assert make == recipe.generate_kwargs()


def test_a_preview_gives_back_the_thread_count_when_a_model_fails():
    threads = torch.get_num_threads()
    with pytest.raises(Exception, match="no-such-model"):
        preview_finetunes(["no-such-model"], *sample("gradients-radial", 2))
    assert torch.get_num_threads() == threads
