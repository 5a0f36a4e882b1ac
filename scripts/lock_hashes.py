"""Write sha256 hashes into requirements/lock.txt for `pip install --require-hashes`.

    .venv/bin/python scripts/lock_hashes.py [--download-dir DIR]

Each `name==version` line (hashed or not) gets the sha256 of the file pip picks for this platform (Linux
x86_64, CPython 3.11): the file is fetched with `pip download --no-deps` (the ordinary client) unless it is
already in DIR, and hashed with `pip hash`'s algorithm. Comments and order are kept. Run it after adding a pin.
"""

from __future__ import annotations

import argparse
import hashlib
import re
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
LOCK = ROOT / "requirements" / "lock.txt"


def norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def pins(text: str) -> list[tuple[str, str]]:
    """(name, version) of each requirement, continuation lines joined."""
    joined = re.sub(r"\\\n\s*", " ", text)
    out = []
    for line in joined.splitlines():
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line.strip())
        if m:
            out.append((m.group(1), m.group(2)))
    return out


def find(dl: Path, name: str, version: str) -> Path | None:
    for f in dl.rglob("*"):
        stem = f.name
        if not f.is_file():
            continue
        m = re.match(r"^(.+?)-(\d[^-]*?)(?:-[^-]+-[^-]+-[^-]+\.whl|\.tar\.gz|\.zip)$", stem)
        if m and norm(m.group(1)) == norm(name) and m.group(2) == version:
            return f
    return None


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--download-dir", default=str(Path.home() / ".cache" / "affectlens" / "lock-files"))
    a = ap.parse_args()
    dl = Path(a.download_dir)
    dl.mkdir(parents=True, exist_ok=True)
    text = LOCK.read_text()
    wanted = pins(text)
    missing = [f"{n}=={v}" for n, v in wanted if find(dl, n, v) is None]
    if missing:
        subprocess.run([sys.executable, "-m", "pip", "download", "--no-deps", "-q", "-d", str(dl), *missing],
                       check=True)
    out = []
    joined = re.sub(r"\\\n\s*", " ", text)
    for line in joined.splitlines():
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", line.strip())
        if not m:
            out.append(line)
            continue
        f = find(dl, m.group(1), m.group(2))
        if f is None:
            raise SystemExit(f"no file for {m.group(1)}=={m.group(2)} in {dl}")
        sha = hashlib.sha256(f.read_bytes()).hexdigest()
        out.append(f"{m.group(1)}=={m.group(2)} \\\n    --hash=sha256:{sha}")
    LOCK.write_text("\n".join(out).rstrip("\n") + "\n")
    print(f"{len(wanted)} pins hashed in {LOCK.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
