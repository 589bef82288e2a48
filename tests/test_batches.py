"""Batches from in-memory tensors."""

from __future__ import annotations

import pytest
import torch

from course_utils import ShapeError, TensorBatches


def test_one_epoch_visits_every_example_once():
    x = torch.arange(10).float()
    y = torch.arange(10) * 2
    batches = TensorBatches(x, y, batch_size=4, seed=0)
    assert len(batches) == 3
    seen_x, seen_y = [], []
    for bx, by in batches:
        assert torch.equal(by, (bx * 2).long())  # pairs stay together
        seen_x += bx.tolist()
        seen_y += by.tolist()
    assert sorted(seen_x) == list(range(10))
    assert [len(b[0]) for b in batches] == [4, 4, 2]


def test_epochs_are_reshuffled_and_repeatable_with_a_seed():
    x = torch.arange(100)
    first = [b.tolist() for b in TensorBatches(x, batch_size=100, seed=1)]
    again = [b.tolist() for b in TensorBatches(x, batch_size=100, seed=1)]
    assert first == again
    batches = TensorBatches(x, batch_size=100, seed=1)
    epoch1, epoch2 = next(iter(batches)), next(iter(batches))
    assert not torch.equal(epoch1, epoch2) and sorted(epoch1.tolist()) == sorted(epoch2.tolist())
    assert not torch.equal(epoch1, x)


def test_no_shuffle_and_drop_last():
    batches = TensorBatches(torch.arange(10), batch_size=4, shuffle=False, drop_last=True)
    assert [b.tolist() for b in batches] == [[0, 1, 2, 3], [4, 5, 6, 7]]


def test_bad_input_is_explained():
    with pytest.raises(ShapeError, match="same first dimension"):
        TensorBatches(torch.zeros(5, 2), torch.zeros(4))
    with pytest.raises(ValueError, match="batch_size"):
        TensorBatches(torch.zeros(5), batch_size=0)
    with pytest.raises(ValueError, match="at least one tensor"):
        TensorBatches()


def test_forever_goes_on_epoch_after_epoch_in_the_same_order_as_iterating_again():
    data = torch.arange(10)
    stream = TensorBatches(data, batch_size=4, drop_last=True, seed=3).forever()
    streamed = [next(stream) for _ in range(5)]  # 2 batches per epoch: two and a half epochs
    again = TensorBatches(data, batch_size=4, drop_last=True, seed=3)
    epochs = [batch for _ in range(3) for batch in again][:5]
    assert all(torch.equal(a, b) for a, b in zip(streamed, epochs))
    assert not torch.equal(streamed[0], streamed[2]) or not torch.equal(
        streamed[1], streamed[3]
    )  # reshuffled
