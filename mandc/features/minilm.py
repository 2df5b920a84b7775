"""all-MiniLM-L6-v2 caption encoder run with torch alone (no transformers import).

The model is a 6-layer BERT encoder (Devlin et al., NAACL 2019) distilled as MiniLM (Wang et al.,
NeurIPS 2020) and tuned by sentence-transformers for sentence similarity. Its embedding is the
mean of the last hidden states over real tokens, L2-normalised (the package's ``modules.json``:
Transformer → mean Pooling → Normalize). Importing transformers costs ~3.5 s of CPU, more than
the rest of loading both encoders, so this module runs the forward pass itself from the
package's safetensors weights and tokenizer.json; a test checks it against transformers.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

MAX_TOKENS = 256
"""all-MiniLM-L6-v2's ``max_seq_length`` (sentence_bert_config.json)."""


class MiniLMEncoder:
    """A sentence-transformers MiniLM folder's tokenizer and weights; ``encode`` → unit rows."""

    def __init__(self, folder: str | Path, *, device: str = "cpu", max_tokens: int = MAX_TOKENS):
        import torch
        from safetensors.torch import load_file
        from tokenizers import Tokenizer

        folder = Path(folder)
        config = json.loads((folder / "config.json").read_text())
        if config.get("hidden_act", "gelu") != "gelu" or \
                config.get("position_embedding_type", "absolute") != "absolute":
            raise ValueError(f"{folder}: not a plain BERT encoder (gelu, absolute positions)")
        self.heads = int(config["num_attention_heads"])
        self.layers = int(config["num_hidden_layers"])
        self.eps = float(config["layer_norm_eps"])
        self.dim = int(config["hidden_size"])
        self.device = device
        self.weights = {name: tensor.to(device).float()
                        for name, tensor in load_file(folder / "model.safetensors").items()}
        self.tokenizer = Tokenizer.from_file(str(folder / "tokenizer.json"))
        self.tokenizer.enable_truncation(max_tokens)
        pad_id = int(config.get("pad_token_id", 0))
        self.tokenizer.enable_padding(pad_id=pad_id,
                                      pad_token=self.tokenizer.id_to_token(pad_id))
        self._torch = torch

    def _linear(self, x, name: str):
        return self._torch.nn.functional.linear(x, self.weights[name + ".weight"],
                                                self.weights[name + ".bias"])

    def _norm(self, x, name: str):
        return self._torch.nn.functional.layer_norm(
            x, (self.dim,), self.weights[name + ".weight"], self.weights[name + ".bias"], self.eps)

    def encode(self, captions: list[str]) -> np.ndarray:
        """``(n, hidden)`` mean-pooled, L2-normalised embeddings (one batch; pad to the longest)."""
        torch, functional, w = self._torch, self._torch.nn.functional, self.weights
        encodings = self.tokenizer.encode_batch(captions)
        ids = torch.tensor([e.ids for e in encodings], device=self.device)
        mask = torch.tensor([e.attention_mask for e in encodings], device=self.device)
        types = torch.tensor([e.type_ids for e in encodings], device=self.device)
        batch, length = ids.shape
        positions = torch.arange(length, device=self.device)
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][positions]
             + w["embeddings.token_type_embeddings.weight"][types])
        x = self._norm(x, "embeddings.LayerNorm")
        keep = mask.bool()[:, None, None, :]  # attend to real tokens only
        head_dim = self.dim // self.heads
        for index in range(self.layers):
            prefix = f"encoder.layer.{index}."

            def split(t):
                return t.view(batch, length, self.heads, head_dim).transpose(1, 2)

            q, k, v = (split(self._linear(x, prefix + f"attention.self.{part}"))
                       for part in ("query", "key", "value"))
            context = functional.scaled_dot_product_attention(q, k, v, attn_mask=keep)
            context = context.transpose(1, 2).reshape(batch, length, self.dim)
            x = self._norm(x + self._linear(context, prefix + "attention.output.dense"),
                           prefix + "attention.output.LayerNorm")
            hidden = functional.gelu(self._linear(x, prefix + "intermediate.dense"))
            x = self._norm(x + self._linear(hidden, prefix + "output.dense"),
                           prefix + "output.LayerNorm")
        weights = mask.unsqueeze(-1).to(x.dtype)
        pooled = (x * weights).sum(1) / weights.sum(1).clamp(min=1e-9)
        return functional.normalize(pooled, dim=-1).cpu().numpy()
