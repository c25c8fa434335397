"""CTranslate2 Whisper weights (model.bin) -> an openai-whisper checkpoint.

So both engines can run the one model that ships with the package, offline. The model.bin
layout is what ctranslate2/specs/model_spec.py `_serialize` writes; the names are those of
ctranslate2's WhisperSpec (converters/transformers.py, WhisperLoader).
"""

from __future__ import annotations

import logging
import re
import struct
from pathlib import Path
from typing import Any, BinaryIO, Dict, Tuple, Union

import numpy as np

from va.stt.base import EngineError

_LOGGER = logging.getLogger(__name__)

_BINARY_VERSION = 6
# ctranslate2/specs/model_spec.py _dtype_to_type_id; bfloat16 is read as its top 16 bits
_DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16, 5: "bfloat16"}

Weights = Dict[str, Union[np.ndarray, str]]  # an alias maps to the name of its target


def read_ct2_model(path: Union[str, Path]) -> Weights:
    """Every variable of a CTranslate2 model.bin, as numpy arrays (aliases as str)."""
    with open(path, "rb") as stream:
        version = _unpack(stream, "<I")
        if version != _BINARY_VERSION:
            raise EngineError(f"{path}: CTranslate2 binary version {version}, expected {_BINARY_VERSION}")
        spec, _revision = _string(stream), _unpack(stream, "<I")
        if spec != "WhisperSpec":
            raise EngineError(f"{path}: a {spec} model, not Whisper")
        weights: Weights = {}
        for _ in range(_unpack(stream, "<I")):
            name = _string(stream)
            shape = tuple(_unpack(stream, "<I") for _ in range(_unpack(stream, "<B")))
            dtype = _DTYPES.get(_unpack(stream, "<B"))
            raw = stream.read(_unpack(stream, "<I"))
            weights[name] = _array(raw, dtype, shape, name)
        for _ in range(_unpack(stream, "<I")):
            alias = _string(stream)
            weights[alias] = _string(stream)
    return weights


def _unpack(stream: BinaryIO, fmt: str) -> int:
    size = struct.calcsize(fmt)
    data = stream.read(size)
    if len(data) != size:
        raise EngineError(f"{getattr(stream, 'name', 'model.bin')}: truncated file")
    return struct.unpack(fmt, data)[0]


def _string(stream: BinaryIO) -> str:
    length = _unpack(stream, "<H")  # includes the trailing NUL
    return stream.read(length)[:-1].decode("utf-8")


def _array(raw: bytes, dtype: Any, shape: Tuple[int, ...], name: str) -> np.ndarray:
    if dtype is None:
        raise EngineError(f"unknown dtype for variable {name}")
    if dtype == "bfloat16":
        return (np.frombuffer(raw, np.uint16).astype(np.uint32) << 16).view(np.float32).reshape(shape)
    return np.frombuffer(raw, dtype).reshape(shape)


def whisper_checkpoint(weights: Weights) -> Dict[str, Any]:
    """{"dims": ..., "model_state_dict": ...} as whisper.load_model reads it."""
    import torch

    dims = _dimensions(weights)
    state = {name: torch.from_numpy(np.array(value, copy=True)) for name, value in _state_dict(weights, dims).items()}
    return {"dims": dims, "model_state_dict": state}


def _dimensions(weights: Weights) -> Dict[str, int]:
    conv1 = _float(weights, "encoder/conv1/weight")
    embeddings = _float(weights, "decoder/embeddings/weight")

    def layers(prefix: str) -> int:
        return len({m.group(1) for m in (re.match(rf"{prefix}/layer_(\d+)/", name) for name in weights) if m})

    return {
        "n_mels": conv1.shape[1],
        "n_audio_ctx": _float(weights, "encoder/position_encodings/encodings").shape[0],
        "n_audio_state": conv1.shape[0],
        "n_audio_head": int(np.asarray(weights["encoder/num_heads"]).item()),
        "n_audio_layer": layers("encoder"),
        "n_vocab": embeddings.shape[0],
        "n_text_ctx": _float(weights, "decoder/position_encodings/encodings").shape[0],
        "n_text_state": embeddings.shape[1],
        "n_text_head": int(np.asarray(weights["decoder/num_heads"]).item()),
        "n_text_layer": layers("decoder"),
    }


def _state_dict(weights: Weights, dims: Dict[str, int]) -> Dict[str, np.ndarray]:
    projection = weights.get("decoder/projection/weight")
    if projection is not None and not (
        projection == "decoder/embeddings/weight"
        or (isinstance(projection, np.ndarray) and np.array_equal(projection, weights["decoder/embeddings/weight"]))
    ):
        raise EngineError("the output projection is not tied to the token embedding; openai-whisper cannot load it")
    state = {
        "encoder.conv1.weight": _float(weights, "encoder/conv1/weight"),
        "encoder.conv1.bias": _float(weights, "encoder/conv1/bias"),
        "encoder.conv2.weight": _float(weights, "encoder/conv2/weight"),
        "encoder.conv2.bias": _float(weights, "encoder/conv2/bias"),
        "encoder.positional_embedding": _float(weights, "encoder/position_encodings/encodings"),
        "decoder.token_embedding.weight": _float(weights, "decoder/embeddings/weight"),
        "decoder.positional_embedding": _float(weights, "decoder/position_encodings/encodings"),
    }
    state.update(_norm(weights, "encoder/layer_norm", "encoder.ln_post"))
    state.update(_norm(weights, "decoder/layer_norm", "decoder.ln"))
    for i in range(dims["n_audio_layer"]):
        source, target = f"encoder/layer_{i}", f"encoder.blocks.{i}"
        state.update(_self_attention(weights, f"{source}/self_attention", f"{target}.attn"))
        state.update(_norm(weights, f"{source}/self_attention/layer_norm", f"{target}.attn_ln"))
        state.update(_ffn(weights, f"{source}/ffn", target))
    for i in range(dims["n_text_layer"]):
        source, target = f"decoder/layer_{i}", f"decoder.blocks.{i}"
        state.update(_self_attention(weights, f"{source}/self_attention", f"{target}.attn"))
        state.update(_norm(weights, f"{source}/self_attention/layer_norm", f"{target}.attn_ln"))
        state.update(_cross_attention(weights, f"{source}/attention", f"{target}.cross_attn"))
        state.update(_norm(weights, f"{source}/attention/layer_norm", f"{target}.cross_attn_ln"))
        state.update(_ffn(weights, f"{source}/ffn", target))
    return state


def _float(weights: Weights, name: str) -> np.ndarray:
    value = weights.get(name)
    if isinstance(value, str):  # an alias: the name of the variable that holds the weights
        value = weights.get(value)
    if value is None or isinstance(value, str):
        raise EngineError(f"model.bin has no variable {name}: not a Whisper model ctranslate2 wrote")
    if not isinstance(value, np.ndarray) or value.dtype not in (np.float32, np.float16):
        raise EngineError(f"{name} is quantized ({value.dtype}); convert the model with float16 or float32 weights")
    return value


def _norm(weights: Weights, source: str, target: str) -> Dict[str, np.ndarray]:
    return {f"{target}.weight": _float(weights, f"{source}/gamma"), f"{target}.bias": _float(weights, f"{source}/beta")}


def _linear(weights: Weights, source: str, target: str) -> Dict[str, np.ndarray]:
    return {f"{target}.weight": _float(weights, f"{source}/weight"), f"{target}.bias": _float(weights, f"{source}/bias")}


def _split(weights: Weights, source: str, targets: Tuple[str, ...]) -> Dict[str, np.ndarray]:
    """A fused projection (q|k|v or k|v) -> one Linear each; Whisper's key has no bias."""
    parts = zip(np.split(_float(weights, f"{source}/weight"), len(targets)), np.split(_float(weights, f"{source}/bias"), len(targets)))
    state = {}
    for target, (weight, bias) in zip(targets, parts):
        state[f"{target}.weight"] = weight
        if target.endswith(".key"):
            if np.any(bias):  # the converter fills the missing key bias with zeros
                raise EngineError(f"{source}: the key projection has a bias; openai-whisper has none")
        else:
            state[f"{target}.bias"] = bias
    return state


def _self_attention(weights: Weights, source: str, target: str) -> Dict[str, np.ndarray]:
    state = _split(weights, f"{source}/linear_0", (f"{target}.query", f"{target}.key", f"{target}.value"))
    state.update(_linear(weights, f"{source}/linear_1", f"{target}.out"))
    return state


def _cross_attention(weights: Weights, source: str, target: str) -> Dict[str, np.ndarray]:
    state = _linear(weights, f"{source}/linear_0", f"{target}.query")
    state.update(_split(weights, f"{source}/linear_1", (f"{target}.key", f"{target}.value")))
    state.update(_linear(weights, f"{source}/linear_2", f"{target}.out"))
    return state


def _ffn(weights: Weights, source: str, target: str) -> Dict[str, np.ndarray]:
    state = _linear(weights, f"{source}/linear_0", f"{target}.mlp.0")
    state.update(_linear(weights, f"{source}/linear_1", f"{target}.mlp.2"))
    state.update(_norm(weights, f"{source}/layer_norm", f"{target}.mlp_ln"))
    return state
