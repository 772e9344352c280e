"""Inputs to tensors, the batch iterator and the input kinds (sklearn_deep._data)."""

import numpy as np
import pytest
import torch
from _estimator_cases import CLASSES, data, family, make

from sklearn_deep._data import (
    Batch,
    BatchIterator,
    ImageInput,
    SequenceInput,
    TableInput,
    network_inputs,
    padded_batches,
    predict_batches,
)


def _batch(n=10, with_weight=True):
    x = torch.arange(n * 3, dtype=torch.float32).reshape(n, 3)
    target = torch.arange(n, dtype=torch.float32).reshape(n, 1)
    weight = torch.linspace(0.5, 1.5, n) if with_weight else None
    return Batch((x,), target, weight)


def _rows(batches):
    """The target values (the row ids) of each batch, as lists."""
    return [b.target[:, 0].long().tolist() for b in batches]


def test_shuffled_epoch_covers_every_row_once_in_batches_of_the_size():
    it = BatchIterator(_batch(10), 4, shuffle=True, generator=torch.Generator())
    rows = _rows(it)
    assert [len(r) for r in rows] == [4, 4, 2] and len(it) == 3
    assert sorted(sum(rows, [])) == list(range(10))


def test_rows_keep_their_inputs_target_and_weight_together():
    data = _batch(10)
    for b in BatchIterator(data, 3, shuffle=True, generator=torch.Generator()):
        ids = b.target[:, 0].long()
        assert torch.equal(b.inputs[0], data.inputs[0][ids])
        assert torch.equal(b.weight, data.weight[ids])


def test_order_comes_from_the_generator_only():
    def epoch(seed):
        gen = torch.Generator().manual_seed(seed)
        return _rows(BatchIterator(_batch(12), 5, True, gen))

    assert epoch(0) == epoch(0)
    assert epoch(0) != epoch(1)  # negative control: another seed, another order


def test_each_epoch_draws_a_new_order():
    it = BatchIterator(_batch(12), 5, True, torch.Generator().manual_seed(0))
    assert _rows(it) != _rows(it)


def test_without_shuffle_batches_are_contiguous_views():
    data = _batch(7, with_weight=False)
    batches = list(BatchIterator(data, 3, shuffle=False, generator=None))
    assert _rows(batches) == [[0, 1, 2], [3, 4, 5], [6]]
    assert batches[0].weight is None
    assert batches[0].inputs[0].data_ptr() == data.inputs[0].data_ptr()


def test_one_batch_of_everything_is_the_data_itself():
    data = _batch(5)
    (only,) = BatchIterator(data, 8, shuffle=True, generator=torch.Generator())
    assert only is data


def test_blocks_reuse_buffers_and_give_the_same_batches():
    def epoch(block_bytes):
        it = BatchIterator(_batch(50), 4, True, torch.Generator().manual_seed(3))
        it.block_bytes = block_bytes
        return _rows(it), it

    small, it = epoch(64)  # one batch per gathered block
    large, _ = epoch(2**20)  # the whole epoch in one block
    assert small == large
    buffers = [b.data_ptr() for b in it._buffers if b is not None]
    epoch_two = _rows(it)
    assert [b.data_ptr() for b in it._buffers if b is not None] == buffers
    assert sorted(sum(epoch_two, [])) == list(range(50))


def test_predict_batches_split_rows_in_order():
    x = torch.arange(10).reshape(10, 1)
    chunks = [c[0].ravel().tolist() for c in predict_batches((x,), 4)]
    assert chunks == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]


@pytest.mark.parametrize("n", [1, 5, 8, 13])
def test_padded_batches_have_a_fixed_size_and_say_what_is_real(n):
    x = torch.arange(n * 2, dtype=torch.float32).reshape(n, 2)
    lengths = torch.arange(1, n + 1)
    chunks = list(padded_batches((x, lengths), 4))
    assert all(c[0].shape[0] == c[1].shape[0] == 4 for c, _ in chunks)
    real = torch.cat([c[0][:m] for c, m in chunks])
    assert torch.equal(real, x)
    last, m = chunks[-1]
    # the padding repeats the chunk's first row: valid inputs of any kind
    assert (last[1][m:] == last[1][0]).all() and (last[0][m:] == last[0][0]).all()
    assert sum(m for _, m in chunks) == n
    assert np.all(np.array([m for _, m in chunks[:-1]]) == 4)


# ----------------------------------------------------------------------
# Input kinds


@pytest.mark.parametrize("cls", CLASSES, ids=lambda c: c.__name__)
def test_fit_and_predict_document_the_x_of_their_input_kind(cls):
    x_line = cls._input_kind.x_doc.splitlines()[0]
    for method in ("fit", "predict"):
        doc = getattr(cls, method).__doc__
        assert x_line in doc, (cls.__name__, method)
        assert "{{" not in doc
    if family(cls) != "table":  # negative control: not the table's X
        assert TableInput.x_doc.splitlines()[0] not in cls.fit.__doc__


@pytest.mark.parametrize("cls", [c for c in CLASSES if family(c) == "table"])
def test_fast_predict_path_makes_the_tensor_full_validation_makes(cls):
    X, y = data(cls)
    est = make(cls).fit(X, y)
    kind = est._input_kind
    for X_new in (X, X.astype(np.float32)):
        fast = kind.fast_inputs(est, X_new)
        full = kind.to_tensors(est, kind.validate(est, X_new, reset=False))
        assert len(fast) == len(full) == 1 and torch.equal(fast[0], full[0])
    # anything that needs checking takes the full path
    assert kind.fast_inputs(est, X[:, :-1]) is None  # another width
    assert kind.fast_inputs(est, np.where(X > 1, np.nan, X)) is None
    assert kind.fast_inputs(est, X.tolist()) is None


def test_only_tables_take_the_fast_path():
    for kind in (ImageInput(), SequenceInput()):
        assert kind.fast_inputs(None, np.ones((2, 3))) is None


def test_image_kind_reads_rows_with_input_shape_as_images():
    cls = next(c for c in CLASSES if family(c) == "image")
    X, y = data(cls)
    est = make(cls, input_shape=(1, 2, 3)).fit(X, y)
    assert est.input_shape_ == (1, 2, 3)
    (tensor,) = est._input_kind.to_tensors(est, X)
    assert tensor.shape == (len(X), 1, 2, 3)


def test_sequence_kind_pads_ragged_sequences_and_keeps_their_lengths():
    cls = next(c for c in CLASSES if family(c) == "sequence")
    X, y = data(cls, "ragged")
    est = make(cls).fit(X, y)
    (store,) = est._input_kind.to_tensors(
        est, est._input_kind.validate(est, X, reset=False)
    )
    values, lengths = network_inputs((store,))
    assert values.shape == (len(X), max(len(x) for x in X), 2)
    assert lengths.tolist() == [len(x) for x in X]
    for i, x in enumerate(X):
        np.testing.assert_array_equal(values[i, : len(x)], np.asarray(x, "float32"))
        assert not values[i, len(x) :].any()
