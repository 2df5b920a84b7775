"""A byte-level ``CLIPTokenizer`` built offline.

The mini zoo cannot download a tokenizer, so it builds one whose vocabulary is the 256 bytes (in
CLIP's byte-to-unicode alphabet, each with and without CLIP's end-of-word marker ``</w>``) and no
BPE merges. Every caption therefore tokenizes to one token per byte, any text is representable,
and ``save_pretrained`` writes the ordinary tokenizer files that ``CLIPTokenizer.from_pretrained``
reads like any Hub tokenizer's.
"""

from __future__ import annotations

BOS_TOKEN = "<|startoftext|>"
EOS_TOKEN = "<|endoftext|>"
END_OF_WORD = "</w>"


def byte_alphabet() -> list[str]:
    """The 256 printable stand-ins CLIP (after GPT-2) uses for raw bytes, in byte order."""
    printable = (
        list(range(ord("!"), ord("~") + 1))
        + list(range(ord("¡"), ord("¬") + 1))
        + list(range(ord("®"), ord("ÿ") + 1))
    )
    codes = {b: b for b in printable}
    extra = 0
    for b in range(256):
        if b not in codes:
            codes[b] = 256 + extra
            extra += 1
    return [chr(codes[b]) for b in range(256)]


def byte_vocab() -> dict[str, int]:
    """Token → id: bytes, bytes closing a word, then the two special tokens (514 entries)."""
    alphabet = byte_alphabet()
    tokens = alphabet + [c + END_OF_WORD for c in alphabet] + [BOS_TOKEN, EOS_TOKEN]
    return {token: index for index, token in enumerate(tokens)}


def build_byte_tokenizer(model_max_length: int = 64):
    """A fresh byte-level ``CLIPTokenizer`` (padding with the end token, as Stable Diffusion's).

    ``save_pretrained`` on the result writes ordinary tokenizer files, so the pipeline folder
    loads back with ``CLIPTokenizer.from_pretrained`` and no network.
    """
    from transformers import CLIPTokenizer

    return CLIPTokenizer(
        vocab=byte_vocab(),
        merges=[],
        bos_token=BOS_TOKEN,
        eos_token=EOS_TOKEN,
        unk_token=EOS_TOKEN,
        pad_token=EOS_TOKEN,
        model_max_length=model_max_length,
    )
