"""Keep native libraries' start-up chatter (MediaPipe/TFLite/glog lines on fd 2) off the user's terminal."""

from __future__ import annotations

import contextlib
import os
import sys


@contextlib.contextmanager
def quiet_stderr():
    """Point file descriptor 2 at /dev/null for the block (Python-level stderr is flushed first).
    Set AFFECTLENS_NATIVE_LOGS=1 to see the native logs."""
    if os.environ.get("AFFECTLENS_NATIVE_LOGS") == "1":
        yield
        return
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)
