"""Typed failures with one-line user messages. The CLI prints `str(err)` and exits non-zero.

The base class and the tools' own failures live here; each layer adds its own next to its code:
`agents.errors.LLMError`, `evals.bench.BenchError`."""


class AffectlensError(Exception):
    """Base class: anything the user can fix or should be told about in one line."""

    exit_code = 2


class MediaError(AffectlensError):
    """The video/audio file is missing, empty, corrupt or of an unsupported kind."""


class ModelMissing(AffectlensError):
    """A model is not installed or a configured model path does not exist."""
