"""Images on regular grids in patient space (:class:`Volume`) and geometry helpers."""

from petdx.image.volume import LPS_TO_RAS, Volume, same_grid

__all__ = ["LPS_TO_RAS", "Volume", "same_grid"]
