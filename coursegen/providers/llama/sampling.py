"""Build llama.cpp's sampler chain: penalties, DRY and a grammar check on the top-k only."""

import ctypes
from dataclasses import dataclass
from typing import Any


class TopKGrammar:
    """Grammar-constrained sampling that checks only the likeliest candidates.

    llama.cpp's grammar sampler tests every token of the vocabulary (49k for SmolLM2) at
    every step, which halves the speed of a small model. Like llama.cpp's own common
    sampler, this one runs after top-k and tests only those candidates; only when none of
    them fits does it test the whole vocabulary. The chain stays: penalties, top-k, grammar,
    typical, top-p, min-p, temperature, distribution.
    """

    def __init__(self, llama: Any, grammar_text: str) -> None:
        import llama_cpp.llama_cpp as lib
        import numpy as np

        self._lib, self._np, self._llama = lib, np, llama
        self._sampler = lib.llama_sampler_init_grammar(
            llama._model.vocab, grammar_text.encode("utf-8"), b"root"
        )
        if not self._sampler:
            raise ValueError("llama.cpp rejected the grammar of the response format")
        self._n_vocab = llama.n_vocab()
        self._full = (lib.llama_token_data * self._n_vocab)()
        self._ids = np.arange(self._n_vocab, dtype=np.int32)

    def apply(self, cur_p: Any) -> None:
        """Mask the candidates the grammar forbids (custom-sampler callback)."""
        np, lib = self._np, self._lib
        lib.llama_sampler_apply(self._sampler, cur_p)
        cur = cur_p.contents
        view = np.ctypeslib.as_array(cur.data, shape=(cur.size,))
        allowed = view[np.isfinite(view["logit"])]
        if len(allowed) == 0:  # none of the top candidates fits: test the whole vocabulary
            allowed = self._best_allowed(len(view))
        # Keep the allowed ones, in order, at the front: later samplers expect no -inf.
        view[: len(allowed)] = allowed
        cur.size = len(allowed)

    def _best_allowed(self, k: int) -> Any:
        np, lib = self._np, self._lib
        logits = np.ctypeslib.as_array(
            lib.llama_get_logits_ith(self._llama._ctx.ctx, -1), shape=(self._n_vocab,)
        )
        full = np.ctypeslib.as_array(self._full)
        full["id"], full["logit"], full["p"] = self._ids, logits, 0.0
        array = lib.llama_token_data_array(
            data=self._full, size=self._n_vocab, selected=-1, sorted=False
        )
        lib.llama_sampler_apply(self._sampler, ctypes.byref(array))
        full = np.ctypeslib.as_array(self._full)[: array.size]
        allowed = full[np.isfinite(full["logit"])]
        return allowed[np.argsort(-allowed["logit"], kind="stable")[:k]].copy()

    def accept(self, token: int) -> None:
        """Advance the grammar past a sampled token."""
        self._lib.llama_sampler_accept(self._sampler, token)

    def close(self) -> None:
        if self._sampler:
            self._lib.llama_sampler_free(self._sampler)
            self._sampler = None


@dataclass(frozen=True)
class Sampling:
    """What our sampler chain adds to llama-cpp-python's: DRY and the top-k grammar check."""

    grammar: Any = None
    """`TopKGrammar`, llama-cpp-python's `LlamaGrammar` or None."""
    dry_multiplier: float = 0.0
    dry_base: float = 1.75
    dry_allowed_length: int = 2
    dry_breakers: tuple[str, ...] = ("\n", ":", '"', "*")


def init_sampler(llama: Any, **options: Any) -> Any:
    """Build llama.cpp's sampler chain for a generation (replaces `Llama._init_sampler`).

    `Llama.generate` hands its `grammar` argument over unchanged; a `Sampling` there
    gives the chain: penalties, DRY, [full grammar], top-k, [top-k grammar], typical,
    top-p, min-p, temperature, distribution. Anything else gets llama-cpp-python's chain.
    """
    plan = options.get("grammar")
    if not isinstance(plan, Sampling):
        return type(llama)._init_sampler(llama, **options)
    from llama_cpp import LlamaGrammar, _internals

    chain = _internals.LlamaSampler()
    chain.add_penalties(
        n_vocab=llama.n_vocab(),
        penalty_last_n=llama.last_n_tokens_size,
        penalty_repeat=options.get("repeat_penalty", 1.0),
        penalty_freq=options.get("frequency_penalty", 0.0),
        penalty_present=options.get("presence_penalty", 0.0),
    )
    if plan.dry_multiplier > 0:
        chain.add_dry(
            llama._model,
            plan.dry_multiplier,
            plan.dry_base,
            plan.dry_allowed_length,
            llama.n_ctx(),  # the whole answer (the sampler sees only generated tokens)
            list(plan.dry_breakers),
        )
    if isinstance(plan.grammar, LlamaGrammar):
        chain.add_grammar(llama._model, plan.grammar)
    chain.add_top_k(options.get("top_k") or 40)
    if isinstance(plan.grammar, TopKGrammar):
        chain.add_custom(plan.grammar.apply)
    temp = options.get("temp", 0.8)
    if temp <= 0:
        chain.add_greedy()
    else:
        chain.add_typical(options.get("typical_p", 1.0), 1)
        chain.add_top_p(options.get("top_p", 0.95), 1)
        chain.add_min_p(options.get("min_p", 0.05), 1)
        chain.add_temp(temp)
        chain.add_dist(llama._seed)
    return chain
