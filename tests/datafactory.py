"""Small image–caption sets built on the fly for the loader tests (no binary fixtures in git).

Image ``i`` is a solid colour that encodes ``i`` and its caption says ``i``, so a test can check
that sampling kept every image with its own caption.
"""

from __future__ import annotations

import csv
import io
import json
import struct
import zipfile
import zlib
from pathlib import Path

from PIL import Image


def colour(i: int) -> tuple[int, int, int]:
    """A distinct RGB colour per index (exact after PNG round trips)."""
    return (i % 256, (i * 7) % 256, (i // 256) * 40 % 256)


def caption(i: int) -> str:
    return f"example {i}"


def solid(i: int, size: tuple[int, int] = (8, 8)) -> Image.Image:
    return Image.new("RGB", size, colour(i))


def index_of(caption_text: str) -> int:
    return int(caption_text.rsplit(" ", 1)[1])


def write_imagefolder(root: Path, n: int, *, fmt: str = "jsonl", caption_key: str = "text",
                      subdir: str = "") -> Path:
    """``root/metadata.<fmt>`` with ``file_name`` and ``caption_key``; images under ``subdir``."""
    root.mkdir(parents=True, exist_ok=True)
    rows = []
    for i in range(n):
        name = f"{subdir}/img_{i:04d}.png" if subdir else f"img_{i:04d}.png"
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        solid(i).save(root / name)
        rows.append({"file_name": name, caption_key: caption(i)})
    write_metadata(root, rows, fmt=fmt)
    return root


def write_metadata(root: Path, rows: list[dict], *, fmt: str = "jsonl") -> Path:
    path = root / f"metadata.{fmt}"
    if fmt == "jsonl":
        path.write_text("".join(json.dumps(row) + "\n" for row in rows))
    else:
        with open(path, "w", newline="") as handle:
            writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
            writer.writeheader()
            writer.writerows(rows)
    return path


def write_caption_folder(root: Path, n: int, *, nested: bool = False) -> Path:
    """Images with a ``.txt`` caption beside each; ``nested`` spreads them over two subfolders."""
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        folder = root / (f"part{i % 2}" if nested else "")
        folder.mkdir(parents=True, exist_ok=True)
        solid(i).save(folder / f"img_{i:04d}.png")
        (folder / f"img_{i:04d}.txt").write_text(caption(i) + "\n")
    return root


def zip_folder(folder: Path, archive: Path, *, wrap: str | None = None) -> Path:
    """Zip ``folder``'s files, optionally inside one top-level folder ``wrap``."""
    with zipfile.ZipFile(archive, "w") as zf:
        for path in sorted(folder.rglob("*")):
            if path.is_file():
                relative = path.relative_to(folder).as_posix()
                zf.write(path, f"{wrap}/{relative}" if wrap else relative)
    return archive


def png_bytes(image: Image.Image, **params) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format="PNG", **params)
    return buffer.getvalue()


def header_only_png(width: int, height: int) -> bytes:
    """A PNG that declares ``width × height`` but carries one empty row: a decompression bomb's
    header, cheap to write, which a loader must refuse before decoding."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        crc = zlib.crc32(kind + body) & 0xFFFFFFFF
        return struct.pack(">I", len(body)) + kind + body + struct.pack(">I", crc)

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)  # 8-bit grayscale
    data = zlib.compress(b"\x00" * (width + 1))
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", data)
            + chunk(b"IEND", b""))
