"""Context-manager plumbing for things that start and stop (backends, the simulator)."""

from __future__ import annotations

from types import TracebackType
from typing import Self


class StartStop:
    """``with thing:`` starts it and always stops it; ``stop()`` runs even when ``start()`` fails, so a
    half-started thing leaves nothing behind."""

    def start(self) -> None:
        raise NotImplementedError

    def stop(self) -> None:
        raise NotImplementedError

    def __enter__(self) -> Self:
        try:
            self.start()
        except BaseException:
            self.stop()
            raise
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
