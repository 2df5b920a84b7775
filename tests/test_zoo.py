"""The mini zoo: byte tokenizer, specs, save/load round trip, exact pretraining resume."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
import torch
from PIL import Image

from mandc.errors import ConfigError
from mandc.minizoo import domains
from mandc.minizoo.models import (
    DATA_FAMILIES,
    ZooSpec,
    build_pipeline,
    load_pipeline,
    save_pipeline,
    zoo_specs,
    zoo_table,
)
from mandc.minizoo.pretrain import PretrainData, checkpoint_pipeline, mixture_domains, pretrain
from mandc.minizoo.tokenizer import build_byte_tokenizer, byte_vocab

MICRO = ZooSpec(
    "micro", {"shapes": 1.0}, block_out_channels=(8, 16), attention_head_dim=4,
    norm_num_groups=4, text_hidden_size=16, text_layers=1, text_heads=2, max_caption_tokens=24,
    resolution=16, batch_size=4, steps=4, warmup_steps=2, seed=3,
)


def _images(n, size=16, seed=0):
    rng = np.random.default_rng(seed)
    return [Image.fromarray(rng.integers(0, 255, (size, size, 3), dtype=np.uint8))
            for _ in range(n)]


def _generate(pipeline, seed=0):
    generators = [torch.Generator().manual_seed(seed + i) for i in range(2)]
    return pipeline(["a red circle", "two blue squares"], num_inference_steps=3,
                    guidance_scale=2.0, generator=generators, output_type="np").images


# ---------------------------------------------------------------- tokenizer


def test_byte_vocab_covers_every_byte_once_with_and_without_word_end():
    vocab = byte_vocab()
    assert len(vocab) == 514
    assert sorted(vocab.values()) == list(range(514))


def test_tokenizer_is_one_token_per_byte_and_round_trips_through_disk(tmp_path):
    from transformers import CLIPTokenizer

    tokenizer = build_byte_tokenizer(model_max_length=32)
    ids = tokenizer("red é").input_ids
    # <bos> r e d</w> é (two UTF-8 bytes, the last closing the word) <eos>
    assert ids[0] == tokenizer.bos_token_id and ids[-1] == tokenizer.eos_token_id
    assert len(ids) == 2 + 3 + 2
    assert tokenizer.unk_token_id not in ids[1:-1]
    assert tokenizer.decode(ids, skip_special_tokens=True).replace("</w>", " ").split() \
        == ["red", "é"]
    tokenizer.save_pretrained(tmp_path)
    loaded = CLIPTokenizer.from_pretrained(tmp_path)
    text = ["three green triangles, top-left", ""]
    kwargs = dict(padding="max_length", max_length=32, truncation=True)
    assert loaded(text, **kwargs).input_ids == tokenizer(text, **kwargs).input_ids
    assert len(loaded) == 514 and loaded.model_max_length == 32


# ---------------------------------------------------------------- specs


def test_zoo_has_ten_distinct_models_that_fit_the_size_budget():
    specs = zoo_specs()
    assert len(specs) >= 10
    assert len({s.name for s in specs}) == len(specs)
    table = zoo_table(specs)
    assert list(table["id"]) == [s.name for s in specs]
    assert table["params"].sum() * 2 <= 25e6 - 1e6  # fp16 weights plus ~1 MB of configs
    assert set(table["prediction_type"]) == {"epsilon", "v_prediction"}
    assert table["scheduler"].nunique() >= 3 and table["family"].nunique() >= 3
    mix = table[[f"mix_{f}" for f in DATA_FAMILIES]]
    assert np.allclose(mix.sum(axis=1), 1.0, atol=1e-3)
    assert all(table[f"mix_{f}"].max() >= 0.5 for f in DATA_FAMILIES if f != "grids")


def test_mixture_families_exist_and_held_out_domains_are_never_pretrained_on():
    assert set(DATA_FAMILIES) <= set(domains.FAMILIES)
    for spec in zoo_specs():
        weights = mixture_domains(spec)
        assert weights and abs(sum(weights.values()) - 1) < 1e-9
        assert not set(weights) & set(domains.HELD_OUT_DOMAINS)
        assert {domains.family_of(name) for name in weights} == set(spec.mixture)


def test_bad_specs_are_refused_with_the_model_name():
    with pytest.raises(ConfigError, match="bad.*prediction_type"):
        ZooSpec("bad", {"shapes": 1}, prediction_type="sample")
    with pytest.raises(ConfigError, match="bad.*scheduler"):
        ZooSpec("bad", {"shapes": 1}, scheduler="lms")
    with pytest.raises(ConfigError, match="mixture"):
        ZooSpec("bad", {"shapes": 0})
    with pytest.raises(ConfigError, match="nonsense"):
        mixture_domains(replace(MICRO, mixture={"nonsense": 1.0}))


# ---------------------------------------------------------------- save / load


def test_pipeline_round_trips_through_save_pretrained_with_identical_outputs(tmp_path):
    pipeline = build_pipeline(MICRO)
    pipeline.set_progress_bar_config(disable=True)
    before = _generate(pipeline)
    save_pipeline(pipeline, tmp_path / "m", half=False, spec=MICRO)
    loaded = load_pipeline(tmp_path / "m")
    assert type(loaded).__name__ == "MiniT2IPipeline"
    assert type(loaded.scheduler).__name__ == "DDIMScheduler"
    np.testing.assert_array_equal(_generate(loaded), before)
    assert not np.array_equal(_generate(loaded, seed=5), before)
    files = [p for p in (tmp_path / "m").rglob("*") if p.is_file()]
    weights = [p for p in files if p.suffix in {".safetensors", ".bin", ".pt", ".pth", ".ckpt"}]
    assert sorted(p.parent.name for p in weights) == ["text_encoder", "unet"]
    assert all(p.suffix == ".safetensors" for p in weights)
    assert json.loads((tmp_path / "m" / "zoo_spec.json").read_text())["name"] == "micro"
    index = json.loads((tmp_path / "m" / "model_index.json").read_text())
    assert index["_class_name"] == "MiniT2IPipeline"


def test_half_storage_loads_back_as_float32_and_close(tmp_path):
    pipeline = build_pipeline(MICRO)
    save_pipeline(pipeline, tmp_path / "h")
    loaded = load_pipeline(tmp_path / "h")
    assert loaded.unet.dtype == torch.float32
    original = dict(pipeline.unet.named_parameters())
    for name, value in loaded.unet.named_parameters():
        torch.testing.assert_close(value, original[name], atol=2e-3, rtol=1e-3)


def test_unknown_or_unbuilt_models_are_refused_clearly(tmp_path, monkeypatch):
    import mandc.minizoo.models as models

    with pytest.raises(ConfigError, match="neither a pipeline folder"):
        load_pipeline("no-such-model")
    monkeypatch.setattr(models, "ASSETS_DIR", tmp_path)
    with pytest.raises(ConfigError, match="not pretrained yet"):
        load_pipeline("shapes-s")


# ---------------------------------------------------------------- pretraining


def _micro_data():
    return PretrainData.from_pairs(_images(6), [f"a pattern number {i}" for i in range(6)],
                                   resolution=16)


def test_pretraining_resumes_to_exactly_the_uninterrupted_weights(tmp_path):
    from safetensors.torch import load_file

    data = _micro_data()
    whole = pretrain(MICRO, tmp_path / "a", checkpoint_dir=tmp_path / "ca", data=data,
                     progress=False)
    assert whole["finished"] and whole["step"] == 4
    assert Image.open(tmp_path / "a" / "samples.png").size == (8 * 16, 2 * 16)
    first = pretrain(MICRO, tmp_path / "b", checkpoint_dir=tmp_path / "cb", data=data,
                     progress=False, stop_after=2)
    assert not first["finished"] and first["step"] == 2
    assert not (tmp_path / "b" / "model_index.json").exists()
    assert _generate(checkpoint_pipeline(tmp_path / "cb")).shape == (2, 16, 16, 3)
    second = pretrain(MICRO, tmp_path / "b", checkpoint_dir=tmp_path / "cb", data=data,
                      progress=False, sample_grid=False)
    assert second["finished"] and second["step"] == 4
    for name in ("model.safetensors", "ema.safetensors"):
        a, b = load_file(tmp_path / "ca" / name), load_file(tmp_path / "cb" / name)
        assert a.keys() == b.keys()
        for key in a:
            torch.testing.assert_close(a[key], b[key], rtol=0, atol=0)
    start = build_pipeline(MICRO).unet.state_dict()
    trained = load_file(tmp_path / "ca" / "model.safetensors")
    assert any(not torch.equal(start[k], trained["unet." + k]) for k in start)
    np.testing.assert_array_equal(_generate(load_pipeline(tmp_path / "a")),
                                  _generate(load_pipeline(tmp_path / "b")))


def test_resuming_with_another_recipe_is_refused(tmp_path):
    data = _micro_data()
    pretrain(MICRO, tmp_path / "a", checkpoint_dir=tmp_path / "c", data=data, progress=False,
             stop_after=1)
    with pytest.raises(ConfigError, match="another spec"):
        pretrain(MICRO, tmp_path / "a", checkpoint_dir=tmp_path / "c", data=data,
                 progress=False, lr=0.5)
