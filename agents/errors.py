"""The agent layer's failures: the LLM server is unreachable, timed out, or kept returning invalid output;
the trained question reader is missing."""

from tools.errors import AffectlensError


class LLMError(AffectlensError):
    """The LLM server is unreachable, timed out, or kept returning invalid output."""


class ReaderMissing(AffectlensError):
    """The trained question reader's weights are not there (agents/intent/data/reader): rebuild them with
    `affectlens train-reader`."""
