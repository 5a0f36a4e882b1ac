"""The agent layer's failure: the LLM server is unreachable, timed out, or kept returning invalid output."""

from tools.errors import AffectlensError


class LLMError(AffectlensError):
    """The LLM server is unreachable, timed out, or kept returning invalid output."""
