"""The recurrent network alone: shapes, padding, gradients (no scikit-learn)."""

import pytest
import torch

from sklearn_deep._modules import RecurrentNetwork
from sklearn_deep._modules._lengths import length_groups

VARIANTS = [
    dict(cell=cell, bidirectional=bidirectional, pooling=pooling)
    for cell in ("lstm", "gru")
    for bidirectional in (False, True)
    for pooling in ("last", "mean", "max")
]


def _ids(params):
    return "-".join(str(v) for v in params.values())


@pytest.mark.parametrize("params", VARIANTS, ids=_ids)
def test_output_shape(params):
    torch.manual_seed(0)
    net = RecurrentNetwork(3, 5, hidden_size=4, num_layers=2, **params)
    x = torch.randn(6, 7, 3)
    assert net(x).shape == (6, 5)
    lengths = torch.tensor([7, 1, 3, 7, 2, 5])
    assert net(x, lengths).shape == (6, 5)


@pytest.mark.parametrize("params", VARIANTS, ids=_ids)
def test_padding_never_changes_the_output(params):
    torch.manual_seed(0)
    net = RecurrentNetwork(2, 3, hidden_size=4, num_layers=2, **params).eval()
    short = torch.randn(1, 3, 2)
    alone = net(short)
    # the same sequence padded with garbage to length 9, beside longer ones
    padded = torch.randn(3, 9, 2) * 10
    padded[0, :3] = short[0]
    lengths = torch.tensor([3, 9, 6])
    batched = net(padded, lengths)
    torch.testing.assert_close(batched[:1], alone, rtol=1e-5, atol=1e-6)
    # without the lengths the padding would leak into the summary
    assert not torch.allclose(net(padded)[:1], alone, atol=1e-4)


def test_equal_lengths_match_the_unpacked_path():
    torch.manual_seed(0)
    net = RecurrentNetwork(2, 3, hidden_size=4, bidirectional=True).eval()
    x = torch.randn(4, 5, 2)
    packed = net(x, torch.full((4,), 5))
    torch.testing.assert_close(packed, net(x), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize("cell", ["lstm", "gru"])
def test_gradients_reach_every_parameter(cell):
    torch.manual_seed(0)
    net = RecurrentNetwork(
        2, 1, cell=cell, hidden_size=4, num_layers=2, hidden_sizes=(3,), dropout=0.1
    )
    x = torch.randn(5, 4, 2)
    net(x, torch.tensor([4, 2, 1, 3, 4])).sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_initialisation():
    torch.manual_seed(0)
    net = RecurrentNetwork(3, 2, hidden_size=4)
    w_hh = net.encoder.weight_hh_l0
    for gate in w_hh.split(4):  # orthogonal per gate
        torch.testing.assert_close(gate @ gate.T, torch.eye(4), atol=1e-5, rtol=0)
    bias = net.encoder.bias_ih_l0
    assert torch.equal(bias[4:8], torch.ones(4))  # LSTM forget gate
    assert torch.count_nonzero(bias) == 4
    assert torch.count_nonzero(net.encoder.bias_hh_l0) == 0


def test_unknown_pooling():
    with pytest.raises(ValueError, match="pooling must be one of"):
        RecurrentNetwork(2, 1, pooling="first")


def test_widely_different_lengths_run_in_groups_with_the_same_outputs():
    # one long sequence among short ones: run apart (a packed CPU batch of
    # such lengths is far slower than its parts), each output as alone
    lengths = torch.tensor([3, 400, 3, 3, 4, 3])
    groups = length_groups(lengths)
    assert sorted(len(g) for g in groups) == [1, 5]
    assert length_groups(torch.tensor([7, 29, 12, 15]))[0].tolist() == [0, 2, 3, 1]
    for params in VARIANTS:
        torch.manual_seed(0)
        net = RecurrentNetwork(2, 3, hidden_size=4, **params).eval()
        x = torch.randn(6, 400, 2)
        batched = net(x, lengths)
        alone = torch.cat([net(x[i : i + 1, :n]) for i, n in enumerate(lengths)])
        torch.testing.assert_close(batched, alone, rtol=1e-5, atol=1e-6)
        # gradients flow through every group
        x.requires_grad_(True)
        net(x, lengths).sum().backward()
        assert x.grad[1].abs().sum() > 0 and x.grad[0, :3].abs().sum() > 0
