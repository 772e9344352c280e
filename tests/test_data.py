"""Inputs to tensors, the batch iterator and the input kinds (sklearn_deep._data)."""

import numpy as np
import pytest
import torch
from _estimator_cases import CLASSES, data, family, make, make_y, outputs

from sklearn_deep._data import (
    Batch,
    BatchIterator,
    ImageInput,
    RaggedSequences,
    SequenceInput,
    TableInput,
    network_inputs,
    pad_sequences,
    padded_batches,
    predict_batches,
    split_batch,
    writable_storage,
)
from sklearn_deep.callbacks import Callback


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
    main = "predict" if hasattr(cls, "predict") else "transform"
    for method in ("fit", main):
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


# ----------------------------------------------------------------------
# Ragged sequences: stored end to end, each batch padded to its own longest


def _ragged_X(n=40, long=None, seed=0):
    rng = np.random.RandomState(seed)
    X = [rng.randn(1 + i % 3, 2) for i in range(n)]
    if long is not None:
        X.insert(n // 2, rng.randn(long, 2))
    return X


class _RecordSteps(Callback):
    """Records (padded steps, longest length) of every sequence batch."""

    def __init__(self):
        self.steps = []

    def on_train_begin(self, estimator):
        self.attach(estimator)

    def attach(self, estimator):
        def hook(module, args):
            x, lengths = (*args, None)[:2]  # equal lengths come unpadded
            longest = x.shape[1] if lengths is None else int(lengths.max())
            self.steps.append((x.shape[1], longest))

        self._hook = estimator.module_.register_forward_pre_hook(hook)

    def on_train_end(self, estimator):
        self._hook.remove()


SEQUENCE_CLASSES = [c for c in CLASSES if family(c) == "sequence"]


@pytest.mark.parametrize("early_stopping", [False, True])
@pytest.mark.parametrize("cls", SEQUENCE_CLASSES, ids=lambda c: c.__name__)
def test_a_batch_never_carries_more_steps_than_its_longest_member(cls, early_stopping):
    X = _ragged_X(long=200)
    y = make_y(cls, len(X))
    recorder = _RecordSteps()
    est = make(cls, batch_size=8, early_stopping=early_stopping, callbacks=[recorder])
    est.fit(X, y)
    recorder.attach(est)
    est.predict(X)
    est.predict(X[:1])
    assert len(recorder.steps) > 5
    assert all(steps == longest for steps, longest in recorder.steps)
    # the one long sequence pads its own batch only
    assert min(steps for steps, _ in recorder.steps) <= 3
    assert max(steps for steps, _ in recorder.steps) == 200


@pytest.mark.parametrize("cls", SEQUENCE_CLASSES, ids=lambda c: c.__name__)
def test_one_extreme_sequence_elsewhere_does_not_change_the_others(cls):
    X = _ragged_X()
    est = make(cls).fit(X, make_y(cls, len(X)))
    alone = outputs(est, X)
    long = np.random.RandomState(1).randn(2000, 2)
    together = outputs(est, X[:10] + [long] + X[10:])
    for method, value in alone.items():
        others = np.delete(together[method], 10, axis=0)
        if value.dtype.kind == "f":
            np.testing.assert_allclose(others, value, rtol=1e-5, atol=1e-6)
        else:
            np.testing.assert_array_equal(others, value)
    # negative control: the long sequence's own output is not its prefix's
    key = "predict_proba" if "predict_proba" in alone else "predict"
    prefix = outputs(est, [long[:3]])[key]
    assert not np.allclose(together[key][10], prefix[0], atol=1e-4)


def test_ragged_store_batches_hold_the_samples_a_padded_array_would():
    X = _ragged_X(n=30, long=50)
    store = SequenceInput().to_tensors(None, pad_sequences(X))[0]
    assert isinstance(store, RaggedSequences)
    assert store.values.shape == (sum(len(x) for x in X), 2)  # nothing padded
    target = torch.arange(len(X), dtype=torch.float32).reshape(-1, 1)
    padded = Batch(network_inputs((store,)), target)
    for shuffle in (True, False):
        ragged_rows = _rows(
            BatchIterator(Batch((store,), target), 7, shuffle, torch.Generator())
        )
        dense_rows = _rows(BatchIterator(padded, 7, shuffle, torch.Generator()))
        assert ragged_rows == dense_rows
    for batch in BatchIterator(Batch((store,), target), 7, True, torch.Generator()):
        values, lengths = network_inputs(batch.inputs)
        ids = batch.target[:, 0].long()
        assert values.shape[1] == int(lengths.max())
        for row, i in enumerate(ids.tolist()):
            np.testing.assert_array_equal(
                values[row, : len(X[i])].numpy(), X[i].astype(np.float32)
            )
            assert not values[row, len(X[i]) :].any()


# ----------------------------------------------------------------------
# The early-stopping split: views of fit's one converted copy of X


def test_split_in_place_gives_views_of_one_storage_with_the_gathered_rows():
    data = _batch(10)
    x = data.inputs[0]
    expected = data.inputs[0].clone()
    train_index, valid_index = np.array([0, 2, 3, 5, 6, 8, 9]), np.array([1, 4, 7])
    train, valid = split_batch(data, train_index, valid_index, in_place=True)
    storage = x.untyped_storage().data_ptr()
    for part, index in ((train, train_index), (valid, valid_index)):
        assert part.inputs[0].untyped_storage().data_ptr() == storage
        assert torch.equal(part.inputs[0], expected[index])
        assert torch.equal(part.target[:, 0].long(), torch.from_numpy(index))
        assert torch.equal(part.weight, data.weight[index])
    # negative control: gathering (not ours to write) copies, leaves x as it was
    data = _batch(10)
    x = data.inputs[0]
    train, valid = split_batch(data, train_index, valid_index, in_place=False)
    assert train.inputs[0].untyped_storage().data_ptr() != x.data_ptr()
    assert torch.equal(x, expected)


def test_split_reorders_in_place_only_fits_own_copy():
    X64 = np.random.RandomState(0).randn(20, 3)
    X32 = X64.astype(np.float32)
    kind = TableInput()
    assert writable_storage((torch.from_numpy(X64.astype(np.float32)),), X64)
    assert not writable_storage((torch.from_numpy(X32),), X32)  # the caller's
    assert writable_storage(kind.to_tensors(None, X32.tolist()), X32.tolist())
    assert not writable_storage((torch.from_numpy(X32),), object())  # unknown


@pytest.mark.parametrize("cls", [c for c in CLASSES if family(c) == "table"])
def test_early_stopping_trains_and_scores_on_one_copy_of_X(cls):
    X, y = data(cls, n=60)
    storages = set()

    class Record(Callback):
        def on_train_begin(self, estimator):
            estimator.module_.register_forward_pre_hook(
                lambda m, args: storages.add(args[0].untyped_storage().data_ptr())
            )

    # one batch of all training rows: the network gets the split's own views
    params = dict(solver="adam", early_stopping=True, batch_size=len(y))
    before = X.copy()
    est = make(cls, **params, callbacks=[Record()]).fit(X, y)
    assert len(est.validation_scores_) == 3
    assert len(storages) == 1  # training and validation rows: one tensor
    np.testing.assert_array_equal(X, before)
    # the same fit, on the caller's float32 X (gathered, not reordered in place)
    X32 = X.astype(np.float32)
    twin = make(cls, **params).fit(X32, y)
    np.testing.assert_array_equal(X32, X.astype(np.float32))
    assert twin.validation_scores_ == est.validation_scores_
    for method, value in outputs(est, X).items():
        np.testing.assert_array_equal(outputs(twin, X)[method], value)
