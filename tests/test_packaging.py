"""The Space installs requirements.txt; it must carry everything the [app] extra needs."""

import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _name(requirement: str) -> str:
    return re.split(r"[\s<>=!~\[;]", requirement.strip(), maxsplit=1)[0].lower().replace("_", "-")


def test_requirements_txt_covers_the_app_extra():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    extras = project["optional-dependencies"]
    needed = {_name(r) for r in project["dependencies"]}
    for extra in ("data", "profile", "app"):
        needed |= {_name(r) for r in extras[extra] if not r.startswith("mandc")}
    lines = [line for line in (ROOT / "requirements.txt").read_text().splitlines()
             if line.strip() and not line.startswith("#")]
    listed = {_name(line) for line in lines}
    assert needed - listed == set()
    assert "." in lines  # the Space installs the package itself


def test_space_card_points_at_app_py():
    card = (ROOT / "space_config" / "README.md").read_text()
    assert "sdk: gradio" in card and "app_file: app.py" in card
    assert (ROOT / "app.py").is_file()
