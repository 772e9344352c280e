"""MLP and LinearModel: output shapes, initialisation and gradient flow, without
scikit-learn."""

import math

import pytest
import torch

from sklearn_deep._modules import ACTIVATIONS, MLP, LinearModel


@pytest.mark.parametrize("hidden", [(), (7,), (5, 3)], ids=["linear", "one", "two"])
def test_output_shape(hidden):
    net = MLP(4, hidden, n_outputs=3)
    assert net(torch.randn(6, 4)).shape == (6, 3)
    assert len(net.linear_layers()) == len(hidden) + 1


@pytest.mark.parametrize("activation", sorted(ACTIVATIONS))
def test_every_activation_is_used(activation):
    net = MLP(3, (4,), n_outputs=1, activation=activation)
    assert isinstance(net.hidden[1], ACTIVATIONS[activation])


def test_dropout_only_when_asked_and_only_in_training():
    assert not any(isinstance(m, torch.nn.Dropout) for m in MLP(3, (4,), 1).modules())
    torch.manual_seed(0)
    net = MLP(3, (64,), n_outputs=2, dropout=0.5)
    x = torch.randn(8, 3)
    assert not torch.equal(net(x), net(x))  # training: a new mask each call
    net.eval()
    assert torch.equal(net(x), net(x))


@pytest.mark.parametrize("activation, factor", [("relu", 6.0), ("logistic", 2.0)])
def test_glorot_initialisation_as_scikit_learn(activation, factor):
    torch.manual_seed(0)
    net = MLP(30, (20,), n_outputs=10, activation=activation)
    for layer in net.linear_layers():
        bound = math.sqrt(factor / (layer.in_features + layer.out_features))
        assert layer.weight.abs().max() <= bound
        assert layer.weight.abs().max() > 0.9 * bound  # uniform: reaches the edge


def test_gradients_reach_every_parameter():
    torch.manual_seed(0)
    net = MLP(5, (8, 6), n_outputs=3, activation="tanh")
    net(torch.randn(10, 5)).logsumexp(1).sum().backward()
    for name, p in net.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name


def test_linear_model_starts_at_zero_and_takes_a_solution():
    net = LinearModel(4, 2)
    assert torch.equal(net(torch.randn(3, 4)), torch.zeros(3, 2))
    weight, bias = torch.randn(2, 4), torch.randn(2)
    net.set_parameters(weight, bias)
    x = torch.randn(5, 4)
    torch.testing.assert_close(net(x), x @ weight.T + bias)


def test_linear_model_without_intercept():
    net = LinearModel(3, 1, bias=False)
    assert net.linear.bias is None
    net.set_parameters(torch.ones(1, 3), torch.ones(1))  # the bias is ignored
    assert net(torch.ones(2, 3)).tolist() == [[3.0], [3.0]]
