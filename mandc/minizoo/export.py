"""Domains onto disk (as ``imagefolder`` datasets) and into a contact sheet for eyeballing."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

from ..errors import ConfigError
from .domains import DOMAINS, _check, sample

MARKER = ".mandc-domain.json"


def _write_split(folder: Path, images, captions) -> None:
    folder.mkdir(parents=True)
    rows = []
    for index, (image, caption) in enumerate(zip(images, captions)):
        file_name = f"{index:05d}.png"
        image.save(folder / file_name, optimize=False, compress_level=1)
        rows.append(json.dumps({"file_name": file_name, "text": caption}))
    (folder / "metadata.jsonl").write_text("\n".join(rows) + "\n", encoding="utf-8")


def write_imagefolder(
    name: str,
    root: str | Path,
    *,
    n_train: int = 256,
    n_test: int = 64,
    seed: int = 0,
    size: int = 32,
) -> Path:
    """Write ``root/<name>/{train,test}/*.png`` with ``metadata.jsonl`` (file_name, text).

    Idempotent: a folder already written with the same settings is left alone; one written by
    this function with other settings is replaced; any other existing folder is never touched.
    """
    DOMAINS.get(name)
    for split, n in (("train", n_train), ("test", n_test)):
        _check(n, seed, size, split)
    root = Path(root)
    target = root / name
    settings = {
        "domain": name,
        "n_train": n_train,
        "n_test": n_test,
        "seed": seed,
        "size": size,
        "format": 1,
    }
    marker = target / MARKER
    if target.exists():
        if not marker.is_file():
            raise ConfigError(
                f"{target} exists and was not written by write_imagefolder; "
                "refusing to overwrite it"
            )
        if json.loads(marker.read_text(encoding="utf-8")) == settings:
            return target
    root.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{name}-", dir=root))
    try:
        for split, n in (("train", n_train), ("test", n_test)):
            images, captions = sample(name, n, seed=seed, size=size, split=split)
            _write_split(staging / split, images, captions)
        (staging / MARKER).write_text(json.dumps(settings), encoding="utf-8")
        if target.exists():
            shutil.rmtree(target)
        os.replace(staging, target)
    finally:
        if staging.exists():
            shutil.rmtree(staging)
    return target


def write_all(root: str | Path, names=None, **kw) -> list[Path]:
    """``write_imagefolder`` for every domain (or the given names); returns their folders."""
    names = DOMAINS.names() if names is None else list(names)
    return [write_imagefolder(name, root, **kw) for name in names]


def contact_sheet(names, per_domain: int = 8, size: int = 32, *, seed: int = 0, scale: int = 1,
                  labels: bool | dict[str, str] = True) -> Image.Image:
    """One row per domain: a label, then ``per_domain`` training images (``scale`` x enlarged).

    ``labels``: True writes the domain names, a dict maps names to the label text, False omits
    the label column.
    """
    names = list(names)
    if not names or per_domain < 1 or scale < 1:
        raise ConfigError("contact_sheet needs at least one name, per_domain >= 1 and scale >= 1")
    cell, pad = size * scale, 2
    label_width = 200 if labels else 0
    width = label_width + per_domain * (cell + pad) + pad
    height = len(names) * (cell + pad) + pad
    sheet = Image.new("RGB", (width, height), (255, 255, 255))
    draw = ImageDraw.Draw(sheet)
    font = ImageFont.load_default(size=12)
    for row, name in enumerate(names):
        images, _ = sample(name, per_domain, seed=seed, size=size)
        top = pad + row * (cell + pad)
        if labels:
            text = labels.get(name, name) if isinstance(labels, dict) else name
            draw.text((4, top + cell // 2), text, fill=(0, 0, 0), font=font, anchor="lm")
        for col, image in enumerate(images):
            if scale > 1:
                image = image.resize((cell, cell), Image.Resampling.NEAREST)
            sheet.paste(image, (label_width + pad + col * (cell + pad), top))
    return sheet


def overview_sheet(per_domain: int = 8, size: int = 32, *, scale: int = 2, seed: int = 0
                   ) -> Image.Image:
    """Every domain, grouped by family in two panels, labelled with its role in the graph.

    This is ``docs/domains.png``: ``overview_sheet().save("docs/domains.png", optimize=True)``.
    """
    from .domains import FAMILIES, list_domains, role_of

    half = (len(FAMILIES) + 1) // 2
    panels = []
    for families in (FAMILIES[:half], FAMILIES[half:]):
        names = [d.name for family in families for d in list_domains(family)]
        labels = {n: n if role_of(n) == "profiled" else f"{n} ({role_of(n).replace('_', ' ')})"
                  for n in names}
        panels.append(contact_sheet(names, per_domain, size, seed=seed, scale=scale, labels=labels))
    gap = 16
    sheet = Image.new("RGB", (panels[0].width + gap + panels[1].width,
                              max(p.height for p in panels)), (255, 255, 255))
    sheet.paste(panels[0], (0, 0))
    sheet.paste(panels[1], (panels[0].width + gap, 0))
    return sheet
