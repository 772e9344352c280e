"""Randomness inside networks that draws from the current fit's own generators.

``torch.nn.Dropout`` draws its masks from torch's process-wide generator,
which every thread shares: two fits in threads (a threaded grid search, Dask's
threaded workers) would take each other's draws. ``Dropout`` here draws from
the generator that ``use_generators`` made current for the calling thread, one
per device; outside such a scope (a network handed to skorch, say) it is
``torch.nn.Dropout``.
"""

import threading
from contextlib import contextmanager

import torch
from torch import nn

_current = threading.local()


def _key(device):
    device = torch.device(device)
    index = device.index
    if index is None and device.type != "cpu":
        index = 0  # the current device, as torch.device('cuda') means
    return device.type, index


@contextmanager
def use_generators(*generators):
    """Make ``generators`` (one per device) the calling thread's, for a block.

    Scopes nest: the inner one holds for its block, then the outer one again.
    """
    previous = getattr(_current, "generators", None)
    _current.generators = {_key(g.device): g for g in generators}
    try:
        yield
    finally:
        _current.generators = previous


def current_generator(device):
    """The calling thread's generator for ``device``, or None outside a scope."""
    generators = getattr(_current, "generators", None)
    if not generators:
        return None
    return generators.get(_key(device))


def _is_compiling():
    is_compiling = getattr(torch.compiler, "is_compiling", None)  # torch >= 2.3
    return bool(is_compiling and is_compiling())


class Dropout(nn.Module):
    """``torch.nn.Dropout`` whose masks come from the fit's own generator.

    A drop-in for ``nn.Dropout``: the same argument ``p``, zeroes each value
    with probability ``p`` in training mode and scales the rest by
    ``1 / (1 - p)``, and is the identity in eval mode. The mask is drawn from
    ``current_generator(x.device)`` when a fit made one current for this
    thread, else from torch's global generator (as ``nn.Dropout``).

    Parameters
    ----------
    p : float, default=0.5
        Probability of zeroing a value, in [0, 1).
    """

    def __init__(self, p=0.5):
        super().__init__()
        if not 0 <= p < 1:
            raise ValueError(f"dropout probability must be in [0, 1), got {p}.")
        self.p = p

    def extra_repr(self):
        return f"p={self.p}"

    def forward(self, x):
        if not self.training or self.p == 0:
            return x
        generator = current_generator(x.device)
        if generator is None or _is_compiling():
            # a compiled graph cannot take a Generator (a graph break at every
            # layer): it draws from torch's global generators, which the
            # compiled forward seeds from the fit's own (seeded_call)
            return nn.functional.dropout(x, self.p, training=True)
        keep = torch.empty_like(x).bernoulli_(1 - self.p, generator=generator)
        return x * keep.div_(1 - self.p)


# torch.random.fork_rng saves the process-wide generators and restores them on
# exit: two threads inside it at once would restore each other's states, and
# seed each other's layers. One seeded build at a time.
_GLOBAL_RNG_LOCK = threading.Lock()


@contextmanager
def seeded_global_rng(seed, device):
    """Torch's global generators seeded with ``seed``, for this thread alone.

    For code that draws from them (layer constructors): the caller's
    generators are restored afterwards, and other threads wait meanwhile.
    """
    cuda_devices = [device.index or 0] if device.type == "cuda" else []
    with _GLOBAL_RNG_LOCK, torch.random.fork_rng(devices=cuda_devices):
        # the CPU generator and the device's, not torch.manual_seed: that
        # one seeds every CUDA device and costs ~2 ms per fit on CPU builds
        torch.random.default_generator.manual_seed(seed)
        if cuda_devices:
            with torch.cuda.device(device):
                torch.cuda.manual_seed(seed)
        yield


def has_random_layers(module):
    """Whether ``module`` draws random numbers in training (dropout)."""
    return any(
        isinstance(m, (Dropout, nn.Dropout)) and m.p > 0 for m in module.modules()
    )


class _CallSeeds:
    """Per-call seeds for a compiled forward, derived from the fit's generator.

    The n-th training call of a fit gets the same seed in every run with the
    same ``random_state``, with no draw from the generator (which on a GPU
    would synchronise the device at every batch).
    """

    def __init__(self, module):
        self.random = has_random_layers(module)  # the layers are fixed
        self._generator = None
        self._calls = 0

    def next(self, generator):
        if generator is not self._generator:  # a new fit: count from zero
            self._generator, self._calls = generator, 0
        self._calls += 1
        return (generator.initial_seed() * 1_000_003 + self._calls) % (2**63)


@contextmanager
def seeded_call(seeds, module, device):
    """Seed torch's global generators for one compiled training call.

    A compiled graph's dropout draws from torch's global generators: seeded
    from the fit's own generator for the call (and restored afterwards, one
    thread at a time), the masks are the same for the same ``random_state``
    and never consume the caller's draws. Anything else runs as it is.
    """
    generator = current_generator(device) if seeds.random and module.training else None
    if generator is None:
        yield
        return
    with seeded_global_rng(seeds.next(generator), torch.device(device)):
        yield
