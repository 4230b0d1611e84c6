"""Requantizing a GGUF: matrices become the target type with only the rounding that type brings,
everything else is copied, the file is whole or absent, and bad input is named."""

from __future__ import annotations

import numpy as np
import pytest

from reviewtune_engine.errors import EngineError
from reviewtune_engine.gguf_quant import requantize_gguf


def write_gguf(path, matrix: np.ndarray, norm: np.ndarray) -> None:
    import gguf

    writer = gguf.GGUFWriter(path, "llama")
    writer.add_name("tiny")
    writer.add_context_length(64)
    writer.add_token_list(["<s>", "a", "b"])
    writer.add_tensor("blk.0.attn_q.weight", matrix)
    writer.add_tensor("blk.0.attn_norm.weight", norm)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


@pytest.mark.parametrize("target", ["Q8_0", "Q4_0"])
def test_matrices_take_the_target_type_and_the_rest_is_copied(tmp_path, target):
    import gguf

    rng = np.random.default_rng(0)
    matrix = rng.normal(0, 0.05, size=(48, 64)).astype(np.float32)
    norm = rng.normal(1, 0.1, size=(64,)).astype(np.float32)
    source, out = tmp_path / "tiny.gguf", tmp_path / f"tiny-{target}.gguf"
    write_gguf(source, matrix, norm)

    result = requantize_gguf({"source": str(source), "out": str(out), "type": target})

    assert result["requantized"] == 1 and result["kept"] == 1 and result["source_types"] == {"F32": 2}
    assert out.is_file() and not (tmp_path / f"tiny-{target}.gguf.partial").exists()
    reader = gguf.GGUFReader(out)
    tensors = {t.name: t for t in reader.tensors}
    assert tensors["blk.0.attn_q.weight"].tensor_type.name == target
    assert tensors["blk.0.attn_norm.weight"].tensor_type.name == "F32"
    np.testing.assert_array_equal(np.asarray(tensors["blk.0.attn_norm.weight"].data), norm)
    back = gguf.quants.dequantize(tensors["blk.0.attn_q.weight"].data, tensors["blk.0.attn_q.weight"].tensor_type).reshape(48, 64)
    # Q8_0 keeps about 2 decimal digits per block, Q4_0 about one: the error is that and no more.
    bound = 0.01 if target == "Q8_0" else 0.15
    relative = float(np.linalg.norm(back - matrix) / np.linalg.norm(matrix))
    assert 0 < relative < bound and abs(relative - result["relative_error"]) < 1e-6
    assert reader.fields["general.name"].contents() == "tiny"
    assert reader.fields["tokenizer.ggml.tokens"].contents() == ["<s>", "a", "b"]


def test_refuses_a_file_that_is_not_gguf_and_an_unknown_type(tmp_path):
    bogus = tmp_path / "model.gguf"
    bogus.write_bytes(b"not a gguf file at all")
    with pytest.raises(EngineError) as error:
        requantize_gguf({"source": str(bogus), "out": str(tmp_path / "out.gguf"), "type": "Q4_0"})
    assert error.value.code == "bad_gguf" and str(bogus) in str(error.value)
    assert not (tmp_path / "out.gguf").exists() and not (tmp_path / "out.gguf.partial").exists()
    with pytest.raises(EngineError) as error:
        requantize_gguf({"source": str(bogus), "out": str(tmp_path / "out.gguf"), "type": "Q3_K"})
    assert error.value.code == "bad_quantization"


def test_a_file_already_in_the_target_type_is_returned_as_it_is(tmp_path):
    rng = np.random.default_rng(1)
    source, first, second = tmp_path / "tiny.gguf", tmp_path / "q8.gguf", tmp_path / "again.gguf"
    write_gguf(source, rng.normal(0, 0.05, size=(8, 64)).astype(np.float32), np.ones(64, dtype=np.float32))
    requantize_gguf({"source": str(source), "out": str(first), "type": "Q8_0"})
    again = requantize_gguf({"source": str(first), "out": str(second), "type": "Q8_0"})
    assert again["out"] == str(first) and again["requantized"] == 0 and not second.exists()


def test_a_file_with_no_matrix_to_convert_is_refused_and_leaves_nothing(tmp_path):
    source, out = tmp_path / "norms.gguf", tmp_path / "out.gguf"
    import gguf

    writer = gguf.GGUFWriter(source, "llama")
    writer.add_tensor("output_norm.weight", np.ones(64, dtype=np.float32))
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(EngineError) as error:
        requantize_gguf({"source": str(source), "out": str(out), "type": "Q8_0"})
    assert error.value.code == "nothing_to_quantize"
    assert not out.exists() and not (tmp_path / "out.gguf.partial").exists()
