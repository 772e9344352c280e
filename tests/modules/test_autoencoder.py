"""The autoencoder network alone: shapes, scaling, gradients (no scikit-learn)."""

import pytest
import torch

from sklearn_deep._modules import AutoEncoderNetwork

SHAPES = [
    (6, ()),  # a table's rows
    ((1, 6), ()),  # rows read as one-channel signals, dense
    ((2, 3, 4), ()),  # images, dense
    ((2, 10), (3,)),  # signals, convolutional
    ((1, 5, 4), (3, 4)),  # images, convolutional
]


def _ids(case):
    return f"{case[0]}-conv{case[1]}"


@pytest.mark.parametrize("case", SHAPES, ids=_ids)
def test_shapes(case):
    shape, conv = case
    torch.manual_seed(0)
    net = AutoEncoderNetwork(shape, 2, hidden_sizes=(5,), conv_channels=conv)
    sample = (shape,) if isinstance(shape, int) else shape
    x = torch.randn(7, *sample)
    assert net.encode(x).shape == (7, 2)
    assert net.decode(net.encode(x)).shape == x.shape
    assert net(x).shape == x.shape


@pytest.mark.parametrize("case", SHAPES, ids=_ids)
def test_gradients_reach_every_parameter(case):
    shape, conv = case
    torch.manual_seed(0)
    net = AutoEncoderNetwork(shape, 2, hidden_sizes=(5,), conv_channels=conv)
    sample = (shape,) if isinstance(shape, int) else shape
    x = torch.randn(7, *sample)
    ((net(x) - x) ** 2).mean().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("conv", [(), (3,)])
def test_reconstruction_is_on_the_scale_of_the_input(conv):
    # a standardising network maps its output back: a decoder that outputs
    # zeros (in standardised units) reconstructs the training mean
    torch.manual_seed(0)
    x = torch.randn(50, 2, 6) * torch.tensor([[3.0], [0.5]]) + torch.tensor(
        [[10.0], [-4.0]]
    )
    net = AutoEncoderNetwork((2, 6), 2, conv_channels=conv, standardize=True)
    net.fit_statistics(x)
    for p in net.parameters():
        torch.nn.init.zeros_(p)
    out = net(x)
    mean = x.mean(0) if not conv else x.mean((0, 2)).unsqueeze(1).expand(2, 6)
    torch.testing.assert_close(out[0], mean, rtol=1e-4, atol=1e-4)
    # without the statistics the same network reconstructs zeros
    plain = AutoEncoderNetwork((2, 6), 2, conv_channels=conv)
    for p in plain.parameters():
        torch.nn.init.zeros_(p)
    assert torch.count_nonzero(plain(x)) == 0


def test_dropout_corrupts_in_training_only():
    torch.manual_seed(0)
    net = AutoEncoderNetwork(8, 2, dropout=0.5)
    x = torch.randn(4, 8)
    net.train()
    assert not torch.equal(net.encode(x), net.encode(x))
    net.eval()
    torch.testing.assert_close(net.encode(x), net.encode(x), rtol=0, atol=0)


def test_convolutions_need_samples_with_channels():
    with pytest.raises(ValueError, match="conv_channels needs samples"):
        AutoEncoderNetwork(6, 2, conv_channels=(4,))
