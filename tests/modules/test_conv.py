"""ConvNet: output shapes and gradient flow, without scikit-learn."""

import pytest
import torch

from sklearn_deep._modules import ConvNet


@pytest.mark.parametrize(
    "input_shape",
    [(1, 8, 8), (3, 7, 5), (2, 1, 1), (1, 10), (4, 1)],
    ids=["square", "odd", "one-pixel", "signal", "one-step"],
)
def test_output_shape(input_shape):
    net = ConvNet(input_shape, (4, 6), (8,), n_outputs=3)
    x = torch.randn(5, *input_shape)
    assert net(x).shape == (5, 3)


@pytest.mark.parametrize("pooling", ["max", "avg", None])
@pytest.mark.parametrize("batch_norm", [True, False])
def test_options_build_and_run(pooling, batch_norm):
    net = ConvNet(
        (2, 6, 6),
        (3,),
        (),
        n_outputs=1,
        kernel_size=2,
        pooling=pooling,
        batch_norm=batch_norm,
        activation="tanh",
        dropout=0.5,
    )
    assert net(torch.randn(4, 2, 6, 6)).shape == (4, 1)
    has_norm = any(isinstance(m, torch.nn.BatchNorm2d) for m in net.modules())
    assert has_norm == batch_norm


def test_pooling_stops_at_one_pixel():
    # three blocks on 4x4: 4 -> 2 -> 1 -> 1 (no pooling below one pixel)
    net = ConvNet((1, 4, 4), (2, 2, 2), (), n_outputs=1)
    assert net.head.head.in_features == 2


def test_no_conv_blocks_is_a_dense_network():
    net = ConvNet((1, 3, 3), (), (4,), n_outputs=2)
    assert len(net.encoder) == 0
    assert net.head.hidden[0].in_features == 9
    assert net(torch.randn(2, 1, 3, 3)).shape == (2, 2)


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    net = ConvNet((1, 8, 8), (4, 8), (16,), n_outputs=3)
    loss = net(torch.randn(6, 1, 8, 8)).logsumexp(1).sum()
    loss.backward()
    for name, p in net.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


def test_bad_input_shape():
    with pytest.raises(ValueError, match=r"\(C, L\) or \(C, H, W\)"):
        ConvNet((1, 2, 3, 4), (2,), (), n_outputs=1)
