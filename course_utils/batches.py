"""Shuffled mini-batches straight from in-memory tensors.

The images already sit in memory as one tensor, so a batch is just an index into it: no per-sample Python call,
no ``ToTensor``, no worker processes. On a 2-core CPU this delivers tens of times more images per second than a
``DataLoader`` + ``ToTensor`` (see ``benchmarks/pipeline_throughput.py``), and on a GPU the tensors are moved
there once so batches never cross the bus.
"""

from __future__ import annotations

from typing import Iterator, Optional, Tuple, Union

import torch

from .errors import ShapeError


class TensorBatches:
    """Iterate over shuffled mini-batches of one or more tensors that share their first dimension.

    >>> batches = TensorBatches(images, labels, batch_size=128, device=device)
    >>> for x, y in batches: ...          # one epoch; iterate again for the next (reshuffled)
    >>> x, y = next(stream)               # with stream = batches.forever(): epoch after epoch, without end

    Args:
        *tensors: e.g. ``images, labels``; all with the same length N.
        batch_size: images per batch.
        shuffle: reshuffle at the start of every epoch.
        drop_last: skip the last, smaller batch.
        device: move the tensors there once, up front (e.g. ``"cuda"``).
        seed: seed of the shuffling, for repeatable epochs (``None``: follows ``torch.manual_seed``).
    """

    def __init__(
        self,
        *tensors: torch.Tensor,
        batch_size: int = 128,
        shuffle: bool = True,
        drop_last: bool = False,
        device: Optional[Union[str, torch.device]] = None,
        seed: Optional[int] = None,
    ) -> None:
        if not tensors:
            raise ValueError("TensorBatches needs at least one tensor, e.g. TensorBatches(images, labels).")
        lengths = {len(t) for t in tensors}
        if len(lengths) != 1:
            shapes = ", ".join(str(tuple(t.shape)) for t in tensors)
            raise ShapeError(
                f"All tensors must have the same first dimension (number of examples); got {shapes}."
            )
        if not isinstance(batch_size, int) or batch_size < 1:
            raise ValueError(f"batch_size must be a positive whole number, got {batch_size!r}.")
        self.tensors = tuple(t.to(device) if device is not None else t for t in tensors)
        self.batch_size = batch_size
        self.shuffle = shuffle
        self.drop_last = drop_last
        self.generator = torch.Generator()
        if seed is not None:
            self.generator.manual_seed(seed)
        else:
            self.generator.manual_seed(int(torch.randint(0, 2**62, (1,)).item()))

    @property
    def num_examples(self) -> int:
        return len(self.tensors[0])

    def __len__(self) -> int:
        """Batches per epoch."""
        full, rest = divmod(self.num_examples, self.batch_size)
        return full if (self.drop_last or rest == 0) else full + 1

    def __iter__(self) -> Iterator[Union[torch.Tensor, Tuple[torch.Tensor, ...]]]:
        n = self.num_examples
        if self.shuffle:
            order = torch.randperm(n, generator=self.generator).to(self.tensors[0].device)
        else:
            order = None
        for batch_index in range(len(self)):
            start = batch_index * self.batch_size
            stop = min(start + self.batch_size, n)
            if order is None:
                batch = tuple(t[start:stop] for t in self.tensors)
            else:
                idx = order[start:stop]
                # index_select copies whole rows; on a CPU it is several times faster than t[idx]
                batch = tuple(torch.index_select(t, 0, idx) for t in self.tensors)
            yield batch[0] if len(batch) == 1 else batch

    def forever(self) -> Iterator[Union[torch.Tensor, Tuple[torch.Tensor, ...]]]:
        """Batches without end, epoch after epoch (reshuffled each time), for a loop that counts steps::

        batches = TensorBatches(images, batch_size=128).forever()
        for step in range(1, steps + 1):
            real = next(batches)
        """
        while True:
            yield from self
