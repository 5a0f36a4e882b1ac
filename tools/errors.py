"""Typed failures with one-line user messages. The CLI prints `str(err)` and exits non-zero."""


class AffectlensError(Exception):
    """Base class: anything the user can fix or should be told about in one line."""

    exit_code = 2


class MediaError(AffectlensError):
    """The video/audio file is missing, empty, corrupt or of an unsupported kind."""


class ModelMissing(AffectlensError):
    """A model is not installed or a configured model path does not exist."""


class LLMError(AffectlensError):
    """The LLM server is unreachable, timed out, or kept returning invalid output."""


class BenchError(AffectlensError):
    """A benchmark file is malformed."""
