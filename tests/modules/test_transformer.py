"""The Transformer network alone: shapes, masks, gradients (no scikit-learn)."""

import pytest
import torch

from sklearn_deep._modules import Dropout, TransformerNetwork

VARIANTS = [
    dict(pooling=pooling, positional_encoding=positional)
    for pooling in ("mean", "max", "cls")
    for positional in ("sinusoidal", None)
]


def _ids(params):
    return "-".join(str(v) for v in params.values())


def _net(n_features, n_outputs, **params):
    small = dict(d_model=8, nhead=2, num_layers=2, dim_feedforward=16)
    return TransformerNetwork(n_features, n_outputs, **{**small, **params})


@pytest.mark.parametrize("params", VARIANTS, ids=_ids)
def test_output_shape(params):
    torch.manual_seed(0)
    net = _net(3, 5, **params)
    x = torch.randn(6, 7, 3)
    assert net(x).shape == (6, 5)
    assert net(x, torch.tensor([7, 1, 3, 7, 2, 5])).shape == (6, 5)


@pytest.mark.parametrize("params", VARIANTS, ids=_ids)
def test_padding_never_changes_the_output(params):
    torch.manual_seed(0)
    net = _net(2, 3, **params, standardize=True).eval()
    net.fit_statistics(torch.randn(10, 4, 2) * 3 + 1)
    short = torch.randn(1, 3, 2)
    alone = net(short)
    # the same sequence padded with garbage to length 9, beside longer ones
    padded = torch.randn(3, 9, 2) * 10
    padded[0, :3] = short[0]
    lengths = torch.tensor([3, 9, 6])
    batched = net(padded, lengths)
    torch.testing.assert_close(batched[:1], alone, rtol=1e-5, atol=1e-6)
    # without the lengths the padding would leak into the attention and summary
    assert not torch.allclose(net(padded)[:1], alone, atol=1e-4)


def test_equal_lengths_match_the_unmasked_path():
    torch.manual_seed(0)
    net = _net(2, 3).eval()
    x = torch.randn(4, 5, 2)
    torch.testing.assert_close(
        net(x, torch.full((4,), 5)), net(x), rtol=1e-5, atol=1e-6
    )


def test_positions_matter_only_with_a_positional_encoding():
    torch.manual_seed(0)
    x = torch.randn(2, 6, 3)
    reversed_x = x.flip(1)
    with_positions = _net(3, 2).eval()
    assert not torch.allclose(with_positions(x), with_positions(reversed_x), atol=1e-4)
    # without positions, mean pooling over self-attention is order-free
    as_a_set = _net(3, 2, positional_encoding=None).eval()
    torch.testing.assert_close(as_a_set(x), as_a_set(reversed_x), rtol=1e-5, atol=1e-6)


def test_longer_sequences_than_in_training_work():
    torch.manual_seed(0)
    net = _net(1, 1).eval()
    assert torch.isfinite(net(torch.randn(2, 500, 1))).all()


@pytest.mark.parametrize("pooling", ["mean", "cls"])
def test_gradients_reach_every_parameter(pooling):
    torch.manual_seed(0)
    net = _net(2, 1, pooling=pooling, hidden_sizes=(3,), dropout=0.1)
    x = torch.randn(5, 4, 2)
    net(x, torch.tensor([4, 2, 1, 3, 4])).sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_dropout_is_built_from_dropout_modules():
    # the attention kernel gets no dropout_p: every random mask is one of our
    # Dropout modules, which draw from the fit's own generator
    net = _net(2, 1, dropout=0.2)
    assert not any(isinstance(m, torch.nn.Dropout) for m in net.modules())
    dropouts = [m for m in net.modules() if isinstance(m, Dropout)]
    assert len(dropouts) == 1 + 2 * 2  # embeddings; per block, residual and FF
    net.eval()
    x = torch.randn(3, 4, 2)
    torch.testing.assert_close(net(x), net(x), rtol=0, atol=0)


def test_initialisation():
    torch.manual_seed(0)
    net = _net(3, 2, num_layers=2)
    qkv = net.blocks[0].attention.qkv.weight
    assert abs(qkv.std().item() - 0.02) < 0.005
    assert torch.count_nonzero(net.blocks[0].attention.qkv.bias) == 0
    proj = net.blocks[0].attention.proj.weight  # scaled by 1 / sqrt(2 * layers)
    assert abs(proj.std().item() - 0.01) < 0.003


def test_bad_arguments():
    with pytest.raises(ValueError, match="multiple of nhead"):
        _net(2, 1, d_model=10, nhead=4)
    with pytest.raises(ValueError, match="pooling must be one of"):
        _net(2, 1, pooling="last")
    with pytest.raises(ValueError, match="positional_encoding must be"):
        _net(2, 1, positional_encoding="rotary")


def test_widely_different_lengths_run_in_groups():
    # one 400-step sequence among 40 of 2-3 steps: padding all to 400 would
    # cost 40 x 400^2 attention scores per head; each group is padded to its own
    torch.manual_seed(0)
    net = _net(2, 3, pooling="mean").eval()
    lengths = torch.tensor([400] + [2, 3] * 20)
    x = torch.randn(41, 400, 2)
    seen = []
    net.blocks[0].register_forward_hook(lambda m, args, out: seen.append(out.shape))
    out = net(x, lengths)
    assert sorted(shape[:2] for shape in seen) == [(1, 400), (40, 3)]
    # each sequence's output is its own alone, in the batch's order
    for i in (0, 1, 2, 40):
        alone = net(x[i : i + 1, : int(lengths[i])])
        torch.testing.assert_close(out[i : i + 1], alone, rtol=1e-5, atol=1e-6)
    # similar lengths stay one batch
    seen.clear()
    net(x[:, :5], torch.tensor([5, 4] * 20 + [5]))
    assert seen == [torch.Size([41, 5, 8])]
