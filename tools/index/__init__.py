"""The index: one streamed pass per video, cached on disk by content key and config, resumable.

    decode.py       PyAV: probe, content key, sampled frames (own thread), audio chunks, shot changes
    sampler.py      adaptive frame rate (moving / still / no face, loud voice)
    speech_pass.py  VAD + ASR + prosody → SpeechTrack, in a background thread (SpeechPlan)
    frame_pass.py   face → AUs → expression → facial flow per sampled frame; windows written as they finish
    windows.py      window cuts (speech ends, shot changes) and per-window summaries (WindowRecord)
    store.py        cache folder, IndexConfig (part of the key), VideoIndex (read access), checkpoints
    build.py        build_index / index_status: runs the passes above under a file lock
"""

from tools.index.build import build_index, index_status
from tools.index.store import (
           INDEX_VERSION,
           IndexConfig,
           IndexSummary,
           SpeechTrack,
           VideoIndex,
           VoiceSegment,
)

__all__ = ["INDEX_VERSION", "IndexConfig", "IndexSummary", "SpeechTrack", "VideoIndex", "VoiceSegment",
           "build_index", "index_status"]
