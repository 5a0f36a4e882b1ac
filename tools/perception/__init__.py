"""Perception models, one module each: face (MediaPipe landmarks, tracks), aus (Action Unit proxies),
expression (FER2013), flow (facial optical flow), speech (VAD + ASR), prosody (voice features, arousal),
embed (sentence embeddings for retrieval)."""
