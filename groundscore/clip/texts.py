"""Text embeddings: each distinct string encoded once, cached across batches.

In a GRPO batch the query repeats for every completion and the generic
captions repeat for every sample; encoding them once per batch, and keeping
them for the next batch, leaves only the genuinely new distractor phrases to
encode. The cache is an LRU bounded by the number of strings.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable, Sequence

import torch


class TextCache:
    """LRU map from string to its unit embedding (float32, on the model's device)."""

    def __init__(self, encode: Callable[[list[str]], torch.Tensor], max_items: int) -> None:
        self._encode = encode
        self.max_items = max_items
        self._items: OrderedDict[str, torch.Tensor] = OrderedDict()
        self.encoded = 0

    def __len__(self) -> int:
        return len(self._items)

    def embed(self, texts: Sequence[str]) -> torch.Tensor:
        """(len(texts), D) embeddings; strings not cached are encoded in one call."""
        missing = list(dict.fromkeys(t for t in texts if t not in self._items))
        fresh: dict[str, torch.Tensor] = {}
        if missing:
            vectors = self._encode(missing)
            self.encoded += len(missing)
            fresh = dict(zip(missing, vectors, strict=True))
        rows = []
        for t in texts:
            vec = fresh.get(t)
            if vec is None:
                vec = self._items[t]
                self._items.move_to_end(t)
            rows.append(vec)
        for t, vec in fresh.items():
            self._items[t] = vec
        while len(self._items) > self.max_items:
            self._items.popitem(last=False)
        return torch.stack(rows) if rows else torch.empty(0)

    def clear(self) -> None:
        self._items.clear()
