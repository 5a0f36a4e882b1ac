"""The dev videos that scripts/make_dev_videos.py builds (research media, never in the repository), each with
its ground truth: `name.mp4` and `name.json` in DEV."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

DEV = Path("~/.cache/affectlens/dev").expanduser()


def dev_videos(names: list[str], missing: str = "{name}: missing (scripts/make_dev_videos.py --only {name})"
               ) -> Iterator[tuple[str, Path, dict]]:
    """(name, video path, ground truth) for each named video that is built; for one that is not, the line
    `missing` (formatted with its name) is printed and the video skipped."""
    for name in names:
        path = DEV / f"{name}.mp4"
        if not path.is_file():
            print(missing.format(name=name))
            continue
        yield name, path, json.loads(path.with_suffix(".json").read_text())
