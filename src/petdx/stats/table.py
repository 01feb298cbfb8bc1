"""Columns of a CSV table as validated arrays, with errors that name the file, row and column.

Row numbers are those of the file as a spreadsheet shows it: the header is row 1, the first
data row is row 2. Every cell is read as text (nothing is guessed by pandas); empty cells and
surrounding spaces are handled here explicitly. An error lists up to five offending rows.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from petdx.errors import Hint, InputValidationError
from petdx.stats._validate import BoolArray, FloatArray

__all__ = ["CsvTable"]

_MAX_LISTED = 5
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


def _rows(numbers: Sequence[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:_MAX_LISTED])
    more = f" and {len(numbers) - _MAX_LISTED} more" if len(numbers) > _MAX_LISTED else ""
    return f"row{'s' if len(numbers) > 1 else ''} {shown}{more}"


@dataclass(frozen=True, eq=False)
class CsvTable:
    """A CSV file read as text, with column accessors that validate every cell."""

    path: Path
    frame: pd.DataFrame

    @classmethod
    def read(cls, path: Path | str) -> CsvTable:
        """Read ``path`` (comma-separated, header in the first row, UTF-8)."""
        p = Path(path)
        if not p.is_file():
            raise InputValidationError(f"{p}: no such file. Give the path of a CSV table.")
        try:
            frame = pd.read_csv(p, dtype=str, keep_default_na=False, skipinitialspace=True)
        except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
            raise InputValidationError(
                f"{p}: not a readable CSV table ({exc}). Save it as comma-separated UTF-8 "
                "with a header row."
            ) from None
        frame.columns = [str(c).strip() for c in frame.columns]
        frame = frame.apply(lambda col: col.str.strip())
        if frame.empty:
            raise InputValidationError(f"{p}: the table has a header but no data rows.")
        return cls(p, frame)

    def row_numbers(self, mask: np.ndarray) -> list[int]:
        """File row numbers (header = 1) of the rows where ``mask`` is True."""
        return [int(i) + 2 for i in np.flatnonzero(mask)]

    def text(self, column: str, *, allow_empty: bool = False) -> np.ndarray:
        """The column's cells as stripped text; empty cells are an error unless allowed."""
        if column not in self.frame.columns:
            available = ", ".join(repr(c) for c in self.frame.columns)
            raise InputValidationError(
                f"{self.path}: no column {column!r}. Columns in the file: {available}. Check "
                "the spelling (names are case-sensitive)."
            )
        values = self.frame[column].to_numpy(dtype=object)
        if not allow_empty:
            empty = values == ""
            if empty.any():
                raise InputValidationError(
                    f"{self.path}, {_rows(self.row_numbers(empty))}, column {column!r}: empty "
                    "cell. Fill the value or remove the row."
                )
        return values

    def numeric(self, column: str, *, allow_empty: bool = False) -> FloatArray:
        """The column as floats; empty cells become NaN when ``allow_empty``."""
        values = self.text(column, allow_empty=allow_empty)
        numbers = pd.to_numeric(pd.Series(values).replace("", np.nan), errors="coerce")
        out = numbers.to_numpy(dtype=np.float64)
        bad = np.isnan(out) & (values != "")
        bad |= np.isinf(out)
        if bad.any():
            first = values[int(np.flatnonzero(bad)[0])]
            raise InputValidationError(
                f"{self.path}, {_rows(self.row_numbers(bad))}, column {column!r}: expected a "
                f"finite number; found {first!r}. Correct the cell (decimal point '.', no "
                "units) or remove the row."
            )
        return out

    def binary(self, column: str, positive: str, *, what: str) -> BoolArray:
        """True where the cell equals ``positive``; the column may hold one other value only.

        Raises when a third value appears (rows listed) or when no cell equals ``positive``
        or none differs from it (an empty group).
        """
        values = self.text(column)
        is_pos = values == positive
        others = sorted(set(values[~is_pos]))
        if not is_pos.any():
            raise InputValidationError(
                f"{self.path}, column {column!r}: no row has the {what} value {positive!r} "
                f"(values found: {', '.join(map(repr, others[:10]))}). Check --{what}."
            )
        if len(others) > 1:
            negative = values[~is_pos][0]
            third = ~is_pos & (values != negative)
            raise InputValidationError(
                f"{self.path}, {_rows(self.row_numbers(third))}, column {column!r}: "
                f"{values[int(np.flatnonzero(third)[0])]!r} is a third value; the column may "
                f"hold only {positive!r} and one other value (here {negative!r}). Recode or "
                "remove those rows."
            )
        return np.asarray(is_pos, dtype=bool)

    def require_both(self, column: str, flags: BoolArray, positive: str) -> None:
        """Raise when every row is positive (the negative group is empty)."""
        if flags.all():
            raise InputValidationError(
                f"{self.path}, column {column!r}: every row is {positive!r}; the other group "
                "is empty, so the analysis needs rows of both groups."
            )

    def boolean(self, column: str) -> BoolArray:
        """Cells 1/0, true/false, yes/no (any case) as booleans."""
        values = self.text(column)
        lower = np.array([v.lower() for v in values], dtype=object)
        is_true = np.isin(lower, list(_TRUE))
        bad = ~is_true & ~np.isin(lower, list(_FALSE))
        if bad.any():
            raise InputValidationError(
                f"{self.path}, {_rows(self.row_numbers(bad))}, column {column!r}: expected "
                f"1/0, true/false or yes/no; found {values[int(np.flatnonzero(bad)[0])]!r}. "
                "Name the value that marks an event.",
                hint=Hint("event_value"),
            )
        return np.asarray(is_true, dtype=bool)
