"""Dropout from the fit's own generator, and the stacked recurrent encoder
that uses it between layers (no scikit-learn)."""

import threading

import pytest
import torch
from torch import nn

from sklearn_deep._modules import (
    Dropout,
    RecurrentNetwork,
    StackedRecurrent,
    current_generator,
    use_generators,
)


def test_dropout_is_a_drop_in_for_torch_dropout():
    x = torch.randn(2000, 8)
    ours, theirs = Dropout(0.3), nn.Dropout(0.3)
    assert ours.p == theirs.p and repr(ours) == "Dropout(p=0.3)"
    # eval mode: the identity, as nn.Dropout
    assert ours.eval()(x) is x
    # training mode: zeros with probability p, the rest scaled by 1 / (1 - p)
    with use_generators(torch.Generator().manual_seed(0)):
        out = ours.train()(x)
    kept = out != 0
    assert abs(kept.float().mean().item() - 0.7) < 0.02
    torch.testing.assert_close(out[kept], x[kept] / 0.7)
    # outside a fit's scope it draws as nn.Dropout: from the global generator
    torch.manual_seed(5)
    expected = theirs.train()(x)
    torch.manual_seed(5)
    torch.testing.assert_close(ours(x), expected)


def test_dropout_draws_from_the_current_generator_only():
    x = torch.ones(64, 16)
    drop = Dropout(0.5).train()

    def masks(seed):
        with use_generators(torch.Generator().manual_seed(seed)):
            return drop(x)

    state = torch.random.get_rng_state()
    first, again, other = masks(1), masks(1), masks(2)
    assert torch.equal(first, again)
    assert not torch.equal(first, other)  # negative control: the seed matters
    assert torch.equal(state, torch.random.get_rng_state())  # global untouched


def test_generator_scopes_are_per_thread_and_nest():
    outer, inner = torch.Generator(), torch.Generator()
    seen = {}
    with use_generators(outer):
        with use_generators(inner):
            assert current_generator("cpu") is inner
        assert current_generator("cpu") is outer
        assert current_generator("cuda") is None  # one generator per device
        thread = threading.Thread(
            target=lambda: seen.update(g=current_generator("cpu"))
        )
        thread.start()
        thread.join()
    assert seen["g"] is None  # another thread does not see this one's scope
    assert current_generator("cpu") is None


@pytest.mark.parametrize("cell", ["lstm", "gru"])
@pytest.mark.parametrize("bidirectional", [False, True])
def test_stacked_layers_compute_what_torch_stacks_compute(cell, bidirectional):
    torch.manual_seed(0)
    torch_cells = {"lstm": nn.LSTM, "gru": nn.GRU}[cell]
    reference = torch_cells(
        3, 4, num_layers=3, batch_first=True, dropout=0.5, bidirectional=bidirectional
    ).eval()
    stacked = StackedRecurrent(cell, 3, 4, 3, bidirectional, 0.5).eval()
    with torch.no_grad():
        for i, layer in enumerate(stacked.layers):
            for name, p in layer.named_parameters():
                p.copy_(getattr(reference, name.replace("_l0", f"_l{i}")))
    x = torch.randn(5, 6, 3)
    lengths = torch.tensor([6, 2, 4, 1, 6])
    for inputs in (x, nn.utils.rnn.pack_padded_sequence(x, lengths, True, False)):
        want, got = reference(inputs), stacked(inputs)
        if isinstance(inputs, nn.utils.rnn.PackedSequence):
            want, got = (want[0].data, *want[1:]), (got[0].data, *got[1:])
        for a, b in zip(
            torch.utils._pytree.tree_leaves(want), torch.utils._pytree.tree_leaves(got)
        ):
            torch.testing.assert_close(b, a, rtol=1e-6, atol=1e-6)
    # training mode drops out between layers, from the current generator
    stacked.train()
    with use_generators(torch.Generator().manual_seed(0)):
        first = stacked(x)[0]
    with use_generators(torch.Generator().manual_seed(0)):
        assert torch.equal(first, stacked(x)[0])
    assert not torch.allclose(first, stacked.eval()(x)[0])


def test_recurrent_network_stacks_only_when_it_drops_out_between_layers():
    assert isinstance(
        RecurrentNetwork(2, 1, num_layers=2, dropout=0.2).encoder, StackedRecurrent
    )
    for params in (dict(num_layers=2), dict(num_layers=1, dropout=0.2)):
        encoder = RecurrentNetwork(2, 1, **params).encoder
        assert isinstance(encoder, nn.LSTM) and encoder.dropout == 0
    # torch's layers are gone from every network that drops out
    for net in (RecurrentNetwork(2, 1, num_layers=3, dropout=0.2),):
        assert not any(isinstance(m, nn.Dropout) for m in net.modules())
