"""What the language-model chapters share, so that their numbers mean the same thing.

One vocabulary of characters (:class:`CharVocab`), one corpus and split
(:func:`char_corpus`), one sampler of training windows (:func:`windows`), one pair of
count baselines (:func:`baselines`), one validation protocol (:func:`validation_loss`),
one sampler with temperature and top-k on common random numbers (:func:`generate`), one
word count (:func:`word_stats`), one label for invisible characters (:func:`show`) and
one figure of a sample (:func:`sample_figure`). The models and their training loops,
which are the lessons, stay in the chapters.

A model is called as ``model(x)`` or ``model(x, state)`` on ``(batch, time)`` token ids.
One that returns ``(logits, state)`` (a recurrent network) carries its state from one
call to the next; one that returns the logits alone (a transformer) sees only what it
is given, at most its ``block_size`` last tokens.
"""

from __future__ import annotations

import math
import re
import textwrap
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import plotly.graph_objects as go
import torch
import torch.nn.functional as F
from plotly.subplots import make_subplots

__all__ = [
    "CharCorpus",
    "CharVocab",
    "baselines",
    "char_corpus",
    "generate",
    "next_token_probs",
    "sample_figure",
    "show",
    "validation_loss",
    "windows",
    "word_stats",
    "words",
]

GLYPHS = {" ": "␣", "\n": "⏎", "\t": "⇥"}


class CharVocab:
    """Characters to integer ids and back, for character-level language models."""

    def __init__(self, text: str):
        self.chars = sorted(set(text))
        self.index = {c: i for i, c in enumerate(self.chars)}

    def __len__(self) -> int:
        return len(self.chars)

    def encode(self, s: str) -> torch.Tensor:
        try:
            return torch.tensor([self.index[c] for c in s], dtype=torch.long)
        except KeyError as error:
            raise ValueError(f"character {error.args[0]!r} is not in the vocabulary") from None

    def decode(self, ids) -> str:
        return "".join(self.chars[int(i)] for i in ids)


def windows(
    ids: torch.Tensor, block_size: int, batch_size: int, generator: torch.Generator | None = None
) -> tuple[torch.Tensor, torch.Tensor]:
    """``batch_size`` random windows of a token sequence and the same windows shifted by one.

    ``x[b, t]`` is followed by ``y[b, t]`` in ``ids``: the next-token targets of a
    language model. Both have shape ``(batch_size, block_size)`` and live on ``ids.device``.
    """
    if ids.dim() != 1:
        raise ValueError(f"ids must be a 1-D tensor of token ids, got shape {tuple(ids.shape)}.")
    if not 1 <= block_size < len(ids):
        raise ValueError(
            f"block_size must be between 1 and len(ids) - 1 = {len(ids) - 1}, got {block_size}."
        )
    if batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    starts = torch.randint(len(ids) - block_size, (batch_size,), generator=generator)
    index = starts[:, None] + torch.arange(block_size + 1)
    chunk = ids[index.to(ids.device)]
    return chunk[:, :-1], chunk[:, 1:]


@dataclass(frozen=True)
class CharCorpus:
    """A text, its characters and their ids, split by position."""

    text: str
    vocab: CharVocab
    ids: torch.Tensor
    n_train: int

    @classmethod
    def from_text(cls, text: str, train_fraction: float = 0.9) -> CharCorpus:
        """The first ``train_fraction`` of ``text`` trains, the rest validates."""
        if not 0 < train_fraction < 1:
            raise ValueError(f"train_fraction must be in (0, 1), got {train_fraction}.")
        n_train = int(train_fraction * len(text))
        if n_train < 2 or len(text) - n_train < 2:
            raise ValueError(
                f"{len(text)} characters are too few to split at {train_fraction}: "
                "each part needs at least two."
            )
        vocab = CharVocab(text)
        return cls(text, vocab, vocab.encode(text), n_train)

    @property
    def train_ids(self) -> torch.Tensor:
        return self.ids[: self.n_train]

    @property
    def val_ids(self) -> torch.Tensor:
        return self.ids[self.n_train :]

    @property
    def train_text(self) -> str:
        return self.text[: self.n_train]

    @property
    def val_text(self) -> str:
        return self.text[self.n_train :]


def char_corpus(name: str = "tinyshakespeare", train_fraction: float = 0.9):
    """A text dataset of :mod:`dlbook.data`, one id per character, split by position."""
    from dlbook import data

    return CharCorpus.from_text(data.text(name), train_fraction)


def baselines(corpus: CharCorpus) -> dict[str, float]:
    """Cross-entropy (nats per character) of three count models on the validation text.

    ``uniform``: every character alike; ``unigram``: each character's frequency in the
    training text; ``bigram``: its frequency after the previous character. Counts start
    at one (add-one smoothing), so nothing is impossible. Every validation character
    after the first is predicted.
    """
    V = len(corpus.vocab)
    train, val = corpus.train_ids, corpus.val_ids
    unigram = torch.bincount(train, minlength=V).double() + 1
    pairs = torch.ones(V, V, dtype=torch.float64)
    ones = torch.ones(len(train) - 1, dtype=torch.float64)
    pairs.index_put_((train[:-1], train[1:]), ones, accumulate=True)
    unigram_p = unigram / unigram.sum()
    bigram_p = pairs / pairs.sum(1, keepdim=True)
    return {
        "uniform": math.log(V),
        "unigram": -unigram_p[val[1:]].log().mean().item(),
        "bigram": -bigram_p[val[:-1], val[1:]].log().mean().item(),
    }


def _forward(model, x: torch.Tensor, state=None):
    """``(logits, state)`` of any model; ``state`` is None if the model keeps none."""
    out = model(x) if state is None else model(x, state)
    if isinstance(out, tuple):
        return out[0], out[1]
    return out, None


def _device(model) -> torch.device:
    try:
        return next(model.parameters()).device
    except StopIteration:
        return torch.device("cpu")


@torch.no_grad()
def validation_loss(
    model, ids: torch.Tensor, block: int, streams: int = 32, carry_state: bool = True
) -> float:
    """Mean cross-entropy (nats per token) of ``model`` on ``ids``; the one protocol.

    ``ids`` is cut into ``streams`` rows of consecutive text (the last tokens that
    do not fill a row are left out), and each row is read in consecutive chunks of
    ``block`` tokens, so every token after a row's first is predicted exactly once.
    A model that returns ``(logits, state)`` carries its state from chunk to chunk,
    as in truncated backpropagation through time (``carry_state=False`` starts each
    chunk empty); a model that returns logits alone sees each chunk on its own.
    """
    if ids.dim() != 1:
        raise ValueError(f"ids must be a 1-D tensor of ids, got {tuple(ids.shape)}.")
    for name, value in (("block", block), ("streams", streams)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{name} must be a positive integer, got {value!r}.")
    per_row = (len(ids) - 1) // streams // block * block
    if per_row == 0:
        raise ValueError(
            f"{len(ids)} tokens do not fill {streams} rows of one chunk of {block}; "
            "pass fewer streams or a shorter block."
        )
    rows = ids[: streams * per_row + 1].unfold(0, per_row + 1, per_row)  # overlap: 1
    rows = rows.to(_device(model))
    was_training = model.training
    model.eval()
    try:
        total, state = 0.0, None
        for start in range(0, per_row, block):
            x = rows[:, start : start + block]
            y = rows[:, start + 1 : start + block + 1]
            logits, state = _forward(model, x, state if carry_state else None)
            logits = logits.flatten(0, 1).float()
            total += F.cross_entropy(logits, y.flatten(), reduction="sum").item()
    finally:
        model.train(was_training)
    return total / (streams * per_row)


def next_token_probs(logits: torch.Tensor, temperature, top_k=None) -> torch.Tensor:
    """Probabilities from ``(rows, V)`` logits: divided by ``temperature``, then, with
    ``top_k``, all but the ``top_k`` largest set to zero. Both may differ per row."""
    rows, V = logits.shape
    temperature = torch.as_tensor(temperature, device=logits.device).float()
    if (temperature <= 0).any():
        raise ValueError("temperatures must be positive; top_k=1 picks the likeliest.")
    logits = logits.float() / temperature.expand(rows)[:, None]
    if top_k is not None:
        k = torch.as_tensor(top_k, device=logits.device).expand(rows)
        if (k < 1).any() or (k > V).any():
            raise ValueError(f"top_k must lie between 1 and {V}, got {k.tolist()}.")
        ranked = logits.sort(dim=-1, descending=True).values
        kth_largest = ranked.gather(1, k[:, None] - 1)
        logits = logits.masked_fill(logits < kth_largest, float("-inf"))
    return F.softmax(logits, dim=-1)


@torch.no_grad()
def generate(
    model,
    prompt: torch.Tensor,
    length: int,
    settings: Sequence[tuple[float, int | None]],
    seed: int,
    block_size: int | None = None,
) -> torch.Tensor:
    """One continuation of ``prompt`` (1-D ids) per ``(temperature, top_k)`` setting.

    All rows share one uniform random number per step (common random numbers): each
    takes the token where its cumulative distribution passes that number, so rows
    differ only through their settings. ``top_k=None`` keeps every token. A model that
    keeps a state is fed one new token at a time; any other model gets the last
    ``block_size`` tokens (default: its ``block_size`` attribute). Returns
    ``(len(settings), length)`` ids.
    """
    if not settings:
        raise ValueError("settings is empty; give at least one (temperature, top_k).")
    if prompt.dim() != 1 or len(prompt) == 0:
        raise ValueError(
            f"prompt must be a non-empty 1-D tensor of ids, got {tuple(prompt.shape)}."
        )
    device = _device(model)
    block_size = block_size or getattr(model, "block_size", None)
    was_training = model.training
    model.eval()
    try:
        context = prompt.to(device).repeat(len(settings), 1)
        logits, state = _forward(model, context[:, -(block_size or len(prompt)) :])
        V = logits.shape[-1]
        temperature = torch.tensor([t for t, _ in settings], device=device)
        top_k = torch.tensor([k or V for _, k in settings], device=device)
        generator = torch.Generator().manual_seed(seed)
        uniforms = torch.rand(length, generator=generator).tolist()
        out = []
        for u in uniforms:
            cumulative = next_token_probs(logits[:, -1], temperature, top_k).cumsum(-1)
            # scaled by the total, so rounding never picks a token of probability zero
            next_id = (cumulative < u * cumulative[:, -1:]).sum(-1, keepdim=True)
            out.append(next_id)
            if state is not None:
                logits, state = _forward(model, next_id, state)
            else:
                context = torch.cat([context, next_id], dim=1)
                logits, _ = _forward(model, context[:, -(block_size or 0) :])
    finally:
        model.train(was_training)
    if not out:
        return torch.zeros(len(settings), 0, dtype=torch.long)
    return torch.cat(out, dim=1).cpu()


def show(char: str) -> str:
    """A visible label for a character: ``␣`` space, ``⏎`` newline, ``⇥`` tab."""
    return GLYPHS.get(char, char)


WORD = re.compile(r"[a-z']+")


def words(string: str) -> list[str]:
    """The words of ``string``: runs of letters and apostrophes, lower-cased."""
    return WORD.findall(string.lower())


def word_stats(sample: str, known: Iterable[str] | set[str]) -> dict[str, float]:
    """How many words ``sample`` has, the share that are in ``known`` (real words), and
    the share that are distinct (low when a sample repeats itself)."""
    known = known if isinstance(known, set | frozenset) else set(known)
    found = words(sample)
    if not found:
        raise ValueError(f"no words to count in {sample[:40]!r}; sample more text.")
    return {
        "words": len(found),
        "real": sum(w in known for w in found) / len(found),
        "distinct": len(set(found)) / len(found),
    }


def wrapped(sample: str, width: int = 44) -> list[str]:
    """A sample's lines wrapped at ``width`` characters, its empty lines kept."""
    lines = []
    for line in sample.split("\n"):
        lines += textwrap.wrap(line, width) or [""]
    return lines


def sample_figure(
    probs: torch.Tensor,
    vocab: CharVocab,
    sample: str,
    *,
    title: str,
    bar_title: str,
    text_title: str,
    bars: int = 15,
    lines: int = 14,
    width: int = 44,
) -> go.Figure:
    """A bar chart of the likeliest next characters above a sample of text.

    The sample is wrapped at ``width`` characters (:func:`wrapped`) and padded or cut to
    ``lines`` lines: give every frame of an explorable the same ``lines``, the most any of
    its samples needs, and the figure is as tall as that.
    """
    probs = probs.detach().float().cpu()
    if probs.dim() != 1 or len(probs) != len(vocab):
        raise ValueError(
            f"probs must hold one probability per character ({len(vocab)}), "
            f"got shape {tuple(probs.shape)}."
        )
    top = probs.argsort(descending=True)[:bars]
    bar_px, text_px = 160, 17 * (lines + 1)
    fig = make_subplots(
        rows=2,
        cols=1,
        row_heights=[bar_px, text_px],
        vertical_spacing=60 / (bar_px + 60 + text_px),  # room for the sample's title
        subplot_titles=[bar_title, text_title],
    )
    fig.add_bar(
        x=[show(vocab.chars[i]) for i in top],
        y=probs[top].tolist(),
        row=1,
        col=1,
        marker_color="#1f77b4",
    )
    shown = (wrapped(sample, width) + [""] * lines)[:lines]
    fig.add_scatter(
        x=[0] * lines,
        y=list(range(lines, 0, -1)),
        text=shown,
        mode="text",
        textposition="middle right",
        row=2,
        col=1,
        hoverinfo="skip",
        textfont={"family": "monospace", "size": 11},
    )
    fig.update_yaxes(range=[0, 1], title="probability", row=1, col=1)
    fig.update_xaxes(range=[0, 1], visible=False, row=2, col=1)
    fig.update_yaxes(range=[0, lines + 1], visible=False, row=2, col=1)
    fig.update_annotations(font_size=13)  # the subplot titles
    margin = {"l": 50, "r": 10, "t": 90, "b": 40}  # l: room for the sample on a phone
    height = margin["t"] + bar_px + 60 + text_px + margin["b"]
    fig.update_layout(title=title, showlegend=False, height=height, margin=margin)
    return fig
