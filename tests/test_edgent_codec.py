"""The message that carries a split model's intermediate tensors from camera to edge."""

from __future__ import annotations

import numpy as np
import pytest

from pipelines.edgent.codec import CodecError, TensorCodec


def activations() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(1)
    relu = np.maximum(rng.standard_normal((1, 32, 20, 20)), 0).astype(np.float32)
    return {"a": relu, "b": rng.uniform(-3, 3, (1, 8, 5)).astype(np.float32)}


def test_float32_is_lossless() -> None:
    tensors = activations()
    decoded = TensorCodec.decode(TensorCodec("float32").encode(tensors))
    assert list(decoded) == ["a", "b"]
    for name, array in tensors.items():
        np.testing.assert_array_equal(decoded[name], array)


@pytest.mark.parametrize(("encoding", "relative"), [("float16", 1e-3), ("int8", 1 / 255)])
def test_lossy_encodings_keep_values_within_their_step(encoding: str, relative: float) -> None:
    tensors = activations()
    decoded = TensorCodec(encoding).decode(TensorCodec(encoding).encode(tensors))  # type: ignore[arg-type]
    for name, array in tensors.items():
        span = float(array.max() - array.min())
        error = np.abs(decoded[name] - array)
        assert decoded[name].dtype == np.float32 and decoded[name].shape == array.shape
        if encoding == "int8":
            assert error.max() <= span * relative / 2 + 1e-6
        else:
            assert (error <= np.abs(array) * relative + 1e-7).all()


def test_smaller_encodings_send_fewer_bytes() -> None:
    tensors = activations()
    raw = sum(a.nbytes for a in tensors.values())
    encodings = ("float32", "float16", "int8")
    plain = {e: len(TensorCodec(e).encode(tensors)) for e in encodings}  # type: ignore[arg-type]
    assert raw < plain["float32"] < raw + 512  # stored as is, behind a short header
    assert plain["int8"] < plain["float16"] < plain["float32"]
    packed = {e: len(TensorCodec(e, level=1).encode(tensors)) for e in encodings}  # type: ignore[arg-type]
    assert all(packed[e] < plain[e] for e in encodings)  # ReLU zeros compress
    np.testing.assert_array_equal(
        TensorCodec.decode(TensorCodec("float32", level=6).encode(tensors))["a"], tensors["a"]
    )


def test_a_constant_tensor_survives_int8() -> None:
    flat = {"c": np.full((4, 4), 2.5, np.float32)}
    np.testing.assert_allclose(TensorCodec.decode(TensorCodec("int8").encode(flat))["c"], 2.5)


@pytest.mark.parametrize("message", [b"", b"JUNKJUNKJUNK", b"EDG1\x05\x00\x00\x00[{]}xxxx"])
def test_bytes_that_are_not_a_message_are_refused(message: bytes) -> None:
    with pytest.raises(CodecError):
        TensorCodec.decode(message)


def test_integer_tensors_cross_unchanged_whatever_the_encoding() -> None:
    shape = np.array([1, 64, 20, 20], dtype=np.int64)
    mask = np.array([True, False])
    for encoding in ("float32", "float16", "int8"):
        message = TensorCodec(encoding, level=1).encode({"shape": shape, "mask": mask})  # type: ignore[arg-type]
        decoded = TensorCodec.decode(message)
        assert decoded["shape"].dtype == np.int64 and decoded["mask"].dtype == np.bool_
        np.testing.assert_array_equal(decoded["shape"], shape)
        np.testing.assert_array_equal(decoded["mask"], mask)
