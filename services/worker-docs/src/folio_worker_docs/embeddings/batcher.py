"""Chunks of concurrent documents embedded together: one forward pass for
several small documents instead of one each.

A one-page document has one to three chunks. Embedded alone, each
document pays a call's fixed cost (tokenising, a batch
padded for a handful of texts, a hop to a thread) and two documents
finishing at once run two model calls that compete for the same cores.
:class:`EmbeddingBatcher` lives on the worker's event loop (the one the
``AsyncIO`` middleware runs every document's coroutine on): callers add
their texts and await their own vectors, and one runner at a time passes
everything waiting to the model in one call, in a thread. Texts that
arrive while a call runs form the next call, so the batch grows with the
load and a lone document waits at most ``window_s`` longer. A call takes
at most ``max_texts`` texts, the smallest requests first, and a larger
request goes through in slices of that size: a one-page receipt waits for
one slice of a 1,500-page manual, not for the whole manual. Within a call,
texts of similar length go through the model together: the model pads a
forward pass to its longest text, and a document's short last chunk beside
full ones would otherwise cost as much as a full chunk.

Given copies of the model (``copies``), several calls run at once, each
on its own copy: while one call runs, texts that arrive go to the next
free copy instead of waiting for the running call to end. With four
one-page documents in flight, one call at a time made a document wait
for the call before its own (most of a document's time on a loaded
2-core machine, ``docs/benchmarks.md``); a call on one thread per copy
also has no barrier between threads that a busy machine stalls.

Dramatiq has no mechanism for combining the work of several messages
(its ``group`` and pipelines chain messages, they do not merge them), so
this small collector is Folio's own.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

#: How long the first texts of an idle batcher wait for company, in seconds.
DEFAULT_WINDOW_S = 0.005
#: Most texts passed to the model in one call.
DEFAULT_MAX_TEXTS = 256
#: Texts embedded in one forward pass are at most this many times longer
#: (in characters) than the shortest of them.
DEFAULT_LENGTH_RATIO = 1.25


@dataclass
class _Request:
    texts: list[str]
    future: asyncio.Future[Any]
    #: Texts handed to model calls so far, and the vectors of those done.
    taken: int = 0
    parts: list[Any] = field(default_factory=list)

    @property
    def left(self) -> int:
        return len(self.texts) - self.taken


@dataclass
class EmbeddingBatcher:
    """Collects :meth:`encode` calls of one event loop into shared model calls.

    - ``encode``: the model's batch function, ``texts -> vectors`` (one row
      per text), run in a thread (``asyncio.to_thread``).
    - ``window_s`` (default ``0.005`` s): how long texts that find the
      batcher idle wait for others before the model is called.
    - ``max_texts`` (default ``256``): most texts per model call; requests
      with fewer texts left go first, and a larger request is embedded in
      slices over several calls (the oldest request gets a slice of every
      call, so a stream of small ones cannot hold it back).
    - ``length_ratio`` (default ``1.25``): a call's texts are embedded in
      groups whose longest text is at most this many times the shortest
      (in characters), so short texts are not padded to long ones.
    - ``copies`` (default none): further batch functions of the same model,
      each safe to run beside ``encode`` and the others (a copy of the
      weights, or a session that allows concurrent runs): at most
      ``1 + len(copies)`` calls run at once, one per function.

    A failing model call fails every request of that call with its
    exception; the next call starts afresh. A caller cancelled while
    waiting (a job's time limit) loses only its own vectors.
    """

    encode: Callable[[list[str]], npt.NDArray[np.float32]]
    window_s: float = DEFAULT_WINDOW_S
    max_texts: int = DEFAULT_MAX_TEXTS
    length_ratio: float = DEFAULT_LENGTH_RATIO
    copies: Sequence[Callable[[list[str]], npt.NDArray[np.float32]]] = ()
    _waiting: list[_Request] = field(default_factory=list, repr=False)
    #: Running calls' tasks, and the batch functions no call holds.
    _runners: set[asyncio.Task[None]] = field(default_factory=set, repr=False)
    _free: list[Callable[[list[str]], npt.NDArray[np.float32]]] | None = field(
        default=None, repr=False
    )
    #: Model calls made and texts embedded (for tests and logs).
    calls: int = 0
    texts: int = 0

    async def encode_many(self, texts: list[str]) -> npt.NDArray[np.float32]:
        """The vectors of ``texts``, embedded with whatever else is waiting."""
        future: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self._waiting.append(_Request(list(texts), future))
        if self._free is None:
            self._free = [self.encode, *self.copies]
        if self._free:
            task = asyncio.create_task(self._run(self._free.pop()))
            self._runners.add(task)
            task.add_done_callback(self._runners.discard)
        result: npt.NDArray[np.float32] = await future
        return result

    @property
    def running(self) -> int:
        """Runners (calls made or about to be) at this moment."""
        return len(self._runners)

    async def _run(self, encode: Callable[[list[str]], npt.NDArray[np.float32]]) -> None:
        try:
            if self.window_s > 0:
                await asyncio.sleep(self.window_s)
            await self._calls(encode)
        finally:
            assert self._free is not None
            self._free.append(encode)

    async def _calls(self, encode: Callable[[list[str]], npt.NDArray[np.float32]]) -> None:
        import numpy as np

        while self._waiting:
            batch = self._take()
            if not batch:
                continue
            joined = [
                t for request, n in batch for t in request.texts[request.taken - n : request.taken]
            ]
            try:
                vectors = await asyncio.to_thread(self._encode_by_length, joined, encode)
            except Exception as e:  # every waiter of this call sees the model's error
                for request, _ in batch:
                    self._drop(request)
                    if not request.future.done():
                        request.future.set_exception(e)
                continue
            self.calls += 1
            self.texts += len(joined)
            start = 0
            for request, n in batch:
                request.parts.append(vectors[start : start + n])
                start += n
                if request.left == 0 and not request.future.done():
                    parts = request.parts
                    request.future.set_result(
                        parts[0] if len(parts) == 1 else np.concatenate(parts)
                    )

    def _drop(self, request: _Request) -> None:
        if request in self._waiting:
            self._waiting.remove(request)

    def _encode_by_length(
        self, texts: list[str], encode: Callable[[list[str]], npt.NDArray[np.float32]]
    ) -> npt.NDArray[np.float32]:
        """``encode`` of ``texts`` in groups of similar length, rows in the
        order of ``texts``. The model pads every text of a forward pass to
        the longest: a one-page document's short last chunk beside full
        chunks would cost a full chunk's work, so texts whose length is
        within ``length_ratio`` of their group's shortest go together."""
        import numpy as np

        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        groups: list[list[int]] = []
        for i in order:
            group = groups[-1] if groups else None
            if group and len(texts[i]) <= max(1, len(texts[group[0]])) * self.length_ratio:
                group.append(i)
            else:
                groups.append([i])
        vectors: npt.NDArray[np.float32] | None = None
        for group in groups:
            part = encode([texts[i] for i in group])
            if vectors is None:
                vectors = np.zeros((len(texts), part.shape[1]), dtype=np.float32)
            vectors[group] = part
        assert vectors is not None
        return vectors

    def _take(self) -> list[tuple[_Request, int]]:
        """The next call: ``(request, texts taken from it)`` pairs, at most
        ``max_texts`` texts. The oldest waiting request gets a slice first
        (at least an eighth of the call), then requests with the fewest
        texts left; a request is taken whole when it fits, else a slice of
        it. A request leaves the queue once all its texts are taken;
        requests whose caller gave up are dropped."""
        self._waiting = [r for r in self._waiting if not r.future.done()]
        if not self._waiting:
            return []
        room = max(1, self.max_texts)
        batch: list[tuple[_Request, int]] = []
        oldest = self._waiting[0]
        first = min(oldest.left, max(1, room // 8))
        if first < oldest.left and len(self._waiting) == 1:
            first = min(oldest.left, room)
        shares = {id(oldest): first}
        room -= first
        for request in sorted(self._waiting[1:], key=lambda r: r.left):
            if room <= 0:
                break
            n = min(request.left, room)
            shares[id(request)] = n
            room -= n
        if room > 0 and oldest.left > first:
            extra = min(oldest.left - first, room)
            shares[id(oldest)] = first + extra
        for request in list(self._waiting):
            n = shares.get(id(request), 0)
            if n or request.left == 0:  # an empty request rides along, as before
                request.taken += n
                batch.append((request, n))
                if request.left == 0:
                    self._waiting.remove(request)
        return batch
