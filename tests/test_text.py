"""dlbook.text: the corpus split, the count baselines, the one validation protocol, the
sampler, the word counts and the sample figure, on small texts written here."""

import math

import plotly.graph_objects as go
import pytest
import torch
import torch.nn.functional as F
from torch import nn

from dlbook import text

TEXT = "abcab abca\nbcabcab cab abc\n" * 20


class Counter(nn.Module):
    """A stateful toy model: its logits favour (state + input) mod V, and its state is
    the number of tokens it has read."""

    def __init__(self, vocab_size: int):
        super().__init__()
        self.V = vocab_size
        self.scale = nn.Parameter(torch.tensor(1.0))

    def forward(self, x, state=None):
        read = torch.zeros(x.shape[0], dtype=torch.long) if state is None else state
        positions = read[:, None] + torch.arange(1, x.shape[1] + 1)
        logits = F.one_hot((x + positions) % self.V, self.V).float() * 5 * self.scale
        return logits, read + x.shape[1]


class Window(nn.Module):
    """A stateless toy model with a context limit, like a transformer."""

    def __init__(self, vocab_size: int, block_size: int):
        super().__init__()
        self.block_size, self.V = block_size, vocab_size
        self.bias = nn.Parameter(torch.zeros(vocab_size))
        self.calls: list[int] = []

    def forward(self, x):
        self.calls.append(x.shape[1])
        assert x.shape[1] <= self.block_size
        return F.one_hot((x + 1) % self.V, self.V).float() * 3 + self.bias


def test_corpus_splits_by_position():
    corpus = text.CharCorpus.from_text(TEXT, train_fraction=0.75)
    assert corpus.n_train == int(0.75 * len(TEXT))
    assert corpus.train_text + corpus.val_text == TEXT
    assert corpus.vocab.decode(corpus.train_ids) == corpus.train_text
    assert corpus.vocab.decode(corpus.val_ids) == corpus.val_text
    assert len(corpus.vocab) == len(set(TEXT))


@pytest.mark.parametrize("fraction", [0, 1, 1.5, -0.1])
def test_corpus_rejects_a_split_outside_zero_and_one(fraction):
    with pytest.raises(ValueError, match="train_fraction"):
        text.CharCorpus.from_text(TEXT, train_fraction=fraction)


def test_corpus_rejects_a_text_too_short_to_split():
    with pytest.raises(ValueError, match="too few"):
        text.CharCorpus.from_text("abc", train_fraction=0.5)


def test_baselines_match_counts_done_by_hand():
    corpus = text.CharCorpus.from_text("aabab" * 10 + "abba", train_fraction=0.8)
    train, val = corpus.train_text, corpus.val_text
    chars = corpus.vocab.chars
    counts = {c: train.count(c) + 1 for c in chars}
    total = sum(counts.values())
    unigram = -sum(math.log(counts[c] / total) for c in val[1:]) / (len(val) - 1)
    pairs = {(a, b): 1 for a in chars for b in chars}
    for a, b in zip(train, train[1:], strict=False):
        pairs[a, b] += 1
    bigram = -sum(
        math.log(pairs[a, b] / sum(pairs[a, c] for c in chars))
        for a, b in zip(val, val[1:], strict=False)
    ) / (len(val) - 1)
    result = text.baselines(corpus)
    assert result["uniform"] == pytest.approx(math.log(len(chars)))
    assert result["unigram"] == pytest.approx(unigram)
    assert result["bigram"] == pytest.approx(bigram)


def test_validation_loss_predicts_every_kept_token_once():
    ids = torch.arange(1, 42) % 5  # 41 tokens: 4 streams of 10 predicted tokens each
    model = Window(5, block_size=5)
    loss = text.validation_loss(model, ids, block=5, streams=4)
    x = ids[:40]
    expected = F.cross_entropy(F.one_hot((x + 1) % 5, 5).float() * 3, ids[1:41])
    assert loss == pytest.approx(expected.item(), rel=1e-6)
    assert model.calls == [5, 5]  # each row read in two chunks of five
    assert model.training  # the mode is restored


def test_validation_loss_carries_a_state_unless_told_not_to():
    V = 7
    ids = torch.arange(200) % V
    model = Counter(V)
    carried = text.validation_loss(model, ids, block=4, streams=2)
    fresh = text.validation_loss(model, ids, block=4, streams=2, carry_state=False)
    assert carried != pytest.approx(fresh)
    # with the state carried, each token's logits only depend on its place in the row
    rows = ids[: 2 * 96 + 1].unfold(0, 97, 96)
    logits, _ = model(rows[:, :-1])
    whole = F.cross_entropy(logits.flatten(0, 1), rows[:, 1:].flatten())
    assert carried == pytest.approx(whole.item(), rel=1e-6)


@pytest.mark.parametrize(
    ("ids", "block", "streams", "match"),
    [
        (torch.zeros(2, 5, dtype=torch.long), 2, 1, "1-D"),
        (torch.zeros(50, dtype=torch.long), 0, 1, "block"),
        (torch.zeros(50, dtype=torch.long), 4, 0, "streams"),
        (torch.zeros(10, dtype=torch.long), 8, 4, "fewer streams"),
    ],
)
def test_validation_loss_explains_bad_input(ids, block, streams, match):
    with pytest.raises(ValueError, match=match):
        text.validation_loss(Window(3, 8), ids, block=block, streams=streams)


def test_next_token_probs_temperature_and_top_k_per_row():
    logits = torch.tensor([[2.0, 1.0, 0.0, -1.0]]).repeat(3, 1)
    probs = text.next_token_probs(logits, torch.tensor([1.0, 0.5, 1.0]), torch.tensor([4, 4, 2]))
    assert torch.allclose(probs.sum(-1), torch.ones(3))
    assert torch.allclose(probs[0], F.softmax(logits[0], -1))
    assert torch.allclose(probs[1], F.softmax(logits[0] / 0.5, -1))
    assert probs[2, 2:].eq(0).all() and torch.allclose(probs[2, :2], F.softmax(logits[0, :2], -1))
    assert torch.allclose(text.next_token_probs(logits[:1], 1.0), probs[:1])


@pytest.mark.parametrize(
    ("temperature", "top_k", "match"),
    [(0.0, None, "positive"), (1.0, 0, "top_k"), (1.0, 5, "top_k")],
)
def test_next_token_probs_explains_bad_knobs(temperature, top_k, match):
    with pytest.raises(ValueError, match=match):
        text.next_token_probs(torch.zeros(1, 4), temperature, top_k)


def test_generate_shares_random_numbers_and_respects_top_k():
    torch.manual_seed(0)
    model = Window(6, block_size=4)
    with torch.no_grad():
        model.bias.copy_(torch.randn(6))
    prompt = torch.tensor([0, 1, 2])
    out = text.generate(model, prompt, 12, [(1.0, None), (1.0, None), (0.7, 1), (2.0, 1)], seed=3)
    assert out.shape == (4, 12) and out.dtype == torch.long
    assert torch.equal(out[0], out[1])  # same setting, same random numbers
    assert torch.equal(out[2], out[3])  # top_k = 1: greedy, whatever the temperature
    assert max(model.calls) == 4  # never more than the block size
    again = text.generate(model, prompt, 12, [(1.0, None)], seed=3)
    assert torch.equal(again[0], out[0])  # reproducible from the seed
    assert model.training


def test_generate_feeds_a_stateful_model_one_token_at_a_time():
    model = Counter(5)
    out = text.generate(model, torch.tensor([0, 0]), 6, [(1.0, 1)], seed=0)
    # the counter's state makes its favourite token (input + tokens read) mod 5
    expected, last, read = [], 0, 2
    for _ in range(6):
        last = (last + read) % 5
        expected.append(last)
        read += 1
    assert out[0].tolist() == expected


class Fixed(nn.Module):
    """The same logits at every position: two likely tokens and three unlikely ones."""

    block_size = 4

    def __init__(self):
        super().__init__()
        self.logits = nn.Parameter(torch.tensor([0.0, 0.0, -3.0, -3.0, -3.0]))

    def forward(self, x):
        return self.logits.expand(*x.shape, 5)


def test_generate_never_picks_a_token_of_probability_zero():
    out = text.generate(Fixed(), torch.tensor([1]), 400, [(1.0, 2), (1.0, None)], seed=1)
    assert set(out[0].tolist()) == {0, 1}  # both likely tokens, nothing cut by top-k
    assert set(out[1].tolist()) > {0, 1}  # without the cut the others turn up too


def test_generate_explains_bad_input():
    with pytest.raises(ValueError, match="settings"):
        text.generate(Window(3, 2), torch.tensor([0]), 3, [], seed=0)
    with pytest.raises(ValueError, match="prompt"):
        text.generate(Window(3, 2), torch.tensor([], dtype=torch.long), 3, [(1.0, None)], seed=0)


def test_show_words_and_word_stats():
    assert [text.show(c) for c in " \na\t"] == ["␣", "⏎", "a", "⇥"]
    assert text.words("To be, or NOT to be: 'tis") == ["to", "be", "or", "not", "to", "be", "'tis"]
    stats = text.word_stats("the cat the dog zzz", {"the", "cat", "dog"})
    assert stats == {"words": 5, "real": 4 / 5, "distinct": 4 / 5}
    with pytest.raises(ValueError, match="no words"):
        text.word_stats("123 !?", {"the"})


def test_sample_figure_keeps_its_layout_for_any_sample():
    corpus = text.CharCorpus.from_text(TEXT)
    probs = torch.softmax(torch.arange(len(corpus.vocab), dtype=torch.float), 0)
    short = text.sample_figure(probs, corpus.vocab, "ab", title="t", bar_title="b", text_title="s")
    long = text.sample_figure(
        probs, corpus.vocab, "abc " * 400, title="t", bar_title="b", text_title="s", lines=6
    )
    assert isinstance(short, go.Figure) and len(short.data) == len(long.data) == 2
    assert len(short.data[1].text) == 14 and len(long.data[1].text) == 6
    assert all(len(line) <= 44 for line in long.data[1].text)
    assert short.data[0].x[0] == text.show(corpus.vocab.chars[-1])  # the likeliest first
    with pytest.raises(ValueError, match="one probability per character"):
        text.sample_figure(probs[:-1], corpus.vocab, "ab", title="", bar_title="", text_title="")


def test_char_vocab_round_trip():
    vocab = text.CharVocab("hello world")
    assert vocab.decode(vocab.encode("lower hold")) == "lower hold"
    assert len(vocab) == 8
    with pytest.raises(ValueError, match="not in the vocabulary"):
        vocab.encode("z")


def test_windows_are_next_token_pairs():
    ids = torch.arange(100)
    x, y = text.windows(ids, block_size=8, batch_size=5, generator=torch.Generator().manual_seed(0))
    assert x.shape == y.shape == (5, 8)
    assert torch.equal(y, x + 1)  # y is x shifted by one position of the sequence
    assert int(x.min()) >= 0 and int(y.max()) <= 99
