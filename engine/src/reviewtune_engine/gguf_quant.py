"""A GGUF model file written again with its weight matrices in another llama.cpp quantization.

The embedded SmolLM2 ships as Q4_1, a type llama.cpp's CPU backend multiplies with its generic
kernels. Q4_0 and Q8_0 have repacked, vectorised kernels on x86 (AVX2 / AVX-512), so the same model
answers several times faster on the serving path. gguf-py (llama.cpp's own Python package) reads the
file, dequantizes each 2-D weight and quantizes it to the target; everything else (metadata,
tokenizer, norms, 1-D tensors) is copied unchanged. Requantizing an already quantized file adds a
second rounding: the caller measures what that does to answers before relying on it.

The output is written to `<out>.partial` and renamed when complete, so a file at `out` is whole.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from reviewtune_engine.errors import EngineError
from reviewtune_engine.files import staging_path

TARGETS = ("Q4_0", "Q8_0")


def requantize_gguf(params: dict) -> dict:
    import numpy as np
    import gguf

    started = time.perf_counter()
    source, out, target_name = Path(params["source"]), Path(params["out"]), params["type"]
    if target_name not in TARGETS:
        raise EngineError("bad_quantization", f"cannot quantize to {target_name}", hint=f"use one of {', '.join(TARGETS)}")
    if not source.is_file():
        raise EngineError("model_not_found", f"{source} does not exist", hint="pass the base model's .gguf file", file=str(source))
    target = gguf.GGMLQuantizationType[target_name]
    try:
        reader = gguf.GGUFReader(source)
    except Exception as error:  # gguf-py raises ValueError / struct errors on anything that is not GGUF
        raise EngineError("bad_gguf", f"{source} is not a readable GGUF file: {error}", hint="pass a .gguf model file", file=str(source)) from error
    block_size, _ = gguf.GGML_QUANT_SIZES[target]
    convertible = {gguf.GGMLQuantizationType[name] for name in ("F32", "F16", "BF16", "Q4_0", "Q4_1", "Q5_0", "Q5_1", "Q8_0")}
    architecture = reader.fields[gguf.Keys.General.ARCHITECTURE].contents()
    source_types: dict[str, int] = {}
    for tensor in reader.tensors:
        source_types[tensor.tensor_type.name] = source_types.get(tensor.tensor_type.name, 0) + 1

    def shape_of(tensor) -> tuple[int, ...]:
        return tuple(int(n) for n in reversed(tensor.shape.tolist()))  # GGUF stores dimensions innermost first

    def converts(tensor) -> bool:
        # Matrices only: norms and biases stay as they are (llama.cpp keeps them in F32 too).
        shape = shape_of(tensor)
        return len(shape) >= 2 and tensor.tensor_type in convertible and shape[-1] % block_size == 0 and tensor.tensor_type != target

    if not any(converts(tensor) for tensor in reader.tensors):
        if any(tensor.tensor_type == target for tensor in reader.tensors):
            # Already in the target type: the file itself is the answer, nothing is written.
            return {"out": str(source), "type": target_name, "source_types": source_types, "requantized": 0, "kept": len(reader.tensors), "bytes": source.stat().st_size, "relative_error": 0.0, "seconds": time.perf_counter() - started}
        raise EngineError("nothing_to_quantize", f"{source} has no weight matrix that can become {target_name}", hint="serve it as it is (--quant source)", file=str(source))

    staging = staging_path(out)
    staging.unlink(missing_ok=True)
    out.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(staging, architecture)
    for field in reader.fields.values():
        # The writer adds the architecture and the GGUF header fields itself; the file type changes.
        if field.name == gguf.Keys.General.ARCHITECTURE or field.name.startswith("GGUF.") or field.name == gguf.Keys.General.FILE_TYPE:
            continue
        value_type = field.types[0]
        sub_type = field.types[-1] if value_type == gguf.GGUFValueType.ARRAY else None
        writer.add_key_value(field.name, field.contents(), value_type, sub_type=sub_type)
    writer.add_file_type(gguf.LlamaFileType.MOSTLY_Q4_0 if target_name == "Q4_0" else gguf.LlamaFileType.MOSTLY_Q8_0)

    requantized, kept, squared_error, squared_norm = 0, 0, 0.0, 0.0
    for tensor in reader.tensors:
        if converts(tensor):
            shape = shape_of(tensor)
            values = gguf.quants.dequantize(tensor.data, tensor.tensor_type).reshape(shape).astype(np.float32)
            quantized = gguf.quants.quantize(values, target)
            back = gguf.quants.dequantize(quantized, target).reshape(shape)
            squared_error += float(np.square(back - values).sum())
            squared_norm += float(np.square(values).sum())
            writer.add_tensor(tensor.name, quantized, raw_dtype=target)
            requantized += 1
        else:
            writer.add_tensor(tensor.name, np.asarray(tensor.data), raw_dtype=tensor.tensor_type)
            kept += 1
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    os.replace(staging, out)
    return {
        "out": str(out),
        "type": target_name,
        "source_types": source_types,
        "requantized": requantized,
        "kept": kept,
        "bytes": out.stat().st_size,
        # The weights' relative error added by this quantization (root of summed squares), over all matrices.
        "relative_error": (squared_error / squared_norm) ** 0.5 if squared_norm > 0 else 0.0,
        "seconds": time.perf_counter() - started,
    }
