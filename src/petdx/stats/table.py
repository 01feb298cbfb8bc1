"""Columns of a CSV table as validated arrays, with errors that name the file, row and column.

Row numbers are those of the file as a spreadsheet shows it: the header is row 1, the first
data row is row 2. Every cell is read as text (nothing is guessed by pandas); missing cells and
surrounding spaces are handled here explicitly. An error lists up to five offending rows.

A cell is missing when it is empty or holds one of :data:`MISSING_CELLS` (``NA`` as R's
``write.csv`` writes it, ``NaN``/``nan``, ``N/A``, ``#N/A``). :meth:`CsvTable.complete_cases`
applies a :class:`~petdx.stats.enums.MissingData` policy to the columns an analysis uses: refuse
the table, or leave the incomplete rows out and say which (:class:`LeftOutRows`; STARD 2015
item 16). Coded values (``--positive``, ``--event-value``) match numerically when both the code
and the cell are numbers (``2`` matches ``2.0``, ``2.00``, `` 2 ``) and as exact text otherwise.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from petdx.errors import Hint, InputValidationError
from petdx.stats._validate import BoolArray, FloatArray
from petdx.stats.enums import MissingData

__all__ = ["MISSING_CELLS", "CsvTable", "LeftOutRows", "code_key", "code_text"]

#: Cell texts (after stripping spaces) that mean "no value", case-sensitive.
MISSING_CELLS = frozenset({"", "NA", "N/A", "NaN", "nan", "#N/A"})
#: A decimal number as a spreadsheet writes it (no "1_0", "inf" or "nan", which float() takes).
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?")

_MAX_LISTED = 5
_TRUE = {"1", "true", "yes", "y", "t"}
_FALSE = {"0", "false", "no", "n", "f"}


def _rows(numbers: Sequence[int]) -> str:
    shown = ", ".join(str(n) for n in numbers[:_MAX_LISTED])
    more = f" and {len(numbers) - _MAX_LISTED} more" if len(numbers) > _MAX_LISTED else ""
    return f"row{'s' if len(numbers) > 1 else ''} {shown}{more}"


def _is_missing(values: np.ndarray) -> np.ndarray:
    return np.isin(values, list(MISSING_CELLS))


def code_key(text: str) -> float | str:
    """The value a coded cell stands for: a float when the text is a decimal number, else
    the text itself; ``code_key("2") == code_key(" 2.00 ")``, ``code_key("yes") == "yes"``."""
    stripped = text.strip()
    return float(stripped) if _NUMBER.fullmatch(stripped) else stripped


def code_text(text: str) -> str:
    """One spelling per coded value: a decimal number as its shortest form (``"2.0"`` and
    ``" 2 "`` give ``"2"``, ``"2.50"`` gives ``"2.5"``), any other text stripped, unchanged."""
    key = code_key(text)
    if isinstance(key, str):
        return key
    return str(int(key)) if key.is_integer() else repr(key)


def _keys(values: np.ndarray) -> np.ndarray:
    out = np.empty(values.size, dtype=object)
    out[:] = [code_key(v) for v in values]
    return out


@dataclass(frozen=True)
class LeftOutRows:
    """The rows an analysis left out for a missing value (STARD 2015 item 16).

    Attributes
    ----------
    policy
        The :class:`~petdx.stats.enums.MissingData` policy applied.
    columns
        The columns the analysis uses (the ones checked).
    n_rows
        Data rows in the table before any was left out.
    rows
        File row numbers (header = row 1) of the rows left out, ascending.
    missing_columns
        For each entry of ``rows``, the used columns whose cell is missing there.
    """

    policy: MissingData
    columns: tuple[str, ...]
    n_rows: int
    rows: tuple[int, ...] = ()
    missing_columns: tuple[tuple[str, ...], ...] = ()

    @property
    def n_left_out(self) -> int:
        return len(self.rows)

    @property
    def n_used(self) -> int:
        return self.n_rows - self.n_left_out

    def to_dict(self) -> dict[str, Any]:
        return {
            "policy": self.policy.value,
            "columns": list(self.columns),
            "n_rows": self.n_rows,
            "n_used": self.n_used,
            "n_left_out": self.n_left_out,
            "left_out": [
                {"row": r, "columns": list(c)}
                for r, c in zip(self.rows, self.missing_columns, strict=True)
            ],
        }

    def __str__(self) -> str:
        if not self.rows:
            return f"{self.n_used} of {self.n_rows} rows used; none left out for a missing value."
        listed = "; ".join(
            f"row {r} ({', '.join(c)})"
            for r, c in zip(self.rows, self.missing_columns, strict=True)
        )
        return (
            f"{self.n_used} of {self.n_rows} rows used; {self.n_left_out} left out for a "
            f"missing value (file row, header = row 1): {listed}."
        )


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
        """File row numbers (header = 1) of the rows where ``mask`` is True; a table from
        :meth:`complete_cases` keeps the numbers of the file."""
        index = self.frame.index.to_numpy()
        return [int(index[i]) + 2 for i in np.flatnonzero(mask)]

    def _column(self, column: str) -> np.ndarray:
        if column not in self.frame.columns:
            available = ", ".join(repr(c) for c in self.frame.columns)
            raise InputValidationError(
                f"{self.path}: no column {column!r}. Columns in the file: {available}. Check "
                "the spelling (names are case-sensitive)."
            )
        return self.frame[column].to_numpy(dtype=object)

    def text(self, column: str, *, allow_empty: bool = False) -> np.ndarray:
        """The column's cells as stripped text; missing cells are an error unless allowed."""
        values = self._column(column)
        if not allow_empty:
            missing = _is_missing(values)
            if missing.any():
                found = sorted(set(values[missing]))
                what = (
                    "empty cell"
                    if found == [""]
                    else f"missing value {', '.join(repr(v) for v in found)}"
                )
                raise InputValidationError(
                    f"{self.path}, {_rows(self.row_numbers(missing))}, column {column!r}: "
                    f"{what}. Fill the value or remove the row, or leave such rows out (they "
                    "are reported).",
                    hint=Hint("missing", (MissingData.EXCLUDE.value,)),
                )
        return values

    def codes(self, column: str) -> np.ndarray:
        """The column as category labels, each coded value in one spelling (:func:`code_text`),
        so that ``1`` from one rater and ``1.0`` from another are the same category."""
        out = np.empty(len(self.frame), dtype=object)
        out[:] = [code_text(v) for v in self.text(column)]
        return out

    def complete_cases(
        self, columns: Sequence[str], *, missing: MissingData | str = MissingData.EXCLUDE
    ) -> tuple[CsvTable, LeftOutRows]:
        """The table restricted to the rows with a value in every one of ``columns``.

        Parameters
        ----------
        columns
            The columns the analysis uses (duplicates are ignored).
        missing
            ``"exclude"``: leave out every row missing a value in any of ``columns``
            (listwise deletion, as R's ``na.omit``) and report it; ``"error"``: raise when any
            cell of ``columns`` is missing.

        Returns
        -------
        (table, left_out)
            The remaining rows (keeping the file's row numbers in later errors) and the
            record of the rows left out.

        Raises
        ------
        InputValidationError
            A column is absent; with ``"error"``, a cell is missing (rows and column named);
            with ``"exclude"``, no row is complete.
        """
        policy = MissingData(missing)
        used = tuple(dict.fromkeys(columns))
        if policy is MissingData.ERROR:
            for column in used:
                self.text(column)
            return self, LeftOutRows(policy, used, len(self.frame))
        flags = np.column_stack([_is_missing(self._column(c)) for c in used])
        incomplete: np.ndarray = np.asarray(flags.any(axis=1), dtype=bool)
        rows = tuple(self.row_numbers(incomplete))
        which = tuple(
            tuple(c for c, f in zip(used, flags[i], strict=True) if f)
            for i in np.flatnonzero(incomplete)
        )
        if incomplete.all():
            raise InputValidationError(
                f"{self.path}: every row misses a value in at least one of the columns "
                f"{', '.join(map(repr, used))}; nothing is left to analyse."
            )
        left = LeftOutRows(policy, used, len(self.frame), rows, which)
        if not rows:
            return self, left
        return CsvTable(self.path, self.frame.loc[~incomplete]), left

    def numeric(self, column: str, *, allow_empty: bool = False) -> FloatArray:
        """The column as floats; empty cells become NaN when ``allow_empty``."""
        values = self.text(column, allow_empty=allow_empty)
        missing = _is_missing(values)
        numbers = pd.to_numeric(pd.Series(np.where(missing, np.nan, values)), errors="coerce")
        out = numbers.to_numpy(dtype=np.float64)
        bad = np.isnan(out) & ~missing
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

        Cells and ``positive`` compare by :func:`code_key`: numerically when both are
        numbers (``2`` matches ``2.0``), as exact text otherwise. Raises when a third value
        appears (rows listed) or when no cell equals ``positive``.
        """
        values = self.text(column)
        keys = _keys(values)
        target = code_key(positive)
        is_pos = np.array([k == target for k in keys], dtype=bool)
        others = sorted(set(values[~is_pos]))
        if not is_pos.any():
            raise InputValidationError(
                f"{self.path}, column {column!r}: no row has the {what} value {positive!r} "
                f"(values found: {', '.join(map(repr, others[:10]))}). Check the value.",
                hint=Hint(what.replace("-", "_")),
            )
        if len({keys[i] for i in np.flatnonzero(~is_pos)}) > 1:
            negative = values[~is_pos][0]
            negative_key = code_key(negative)
            third = ~is_pos & np.array([k != negative_key for k in keys], dtype=bool)
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
        """Cells 1/0 (also as ``1.0``/``0.0``), true/false, yes/no (any case) as booleans."""
        values = self.text(column)
        keys = _keys(values)
        lower = np.array([v.lower() for v in values], dtype=object)
        number_true = np.array([k == 1.0 for k in keys], dtype=bool)
        number_false = np.array([k == 0.0 for k in keys], dtype=bool)
        is_true = np.isin(lower, list(_TRUE)) | number_true
        bad = ~is_true & ~np.isin(lower, list(_FALSE)) & ~number_false
        if bad.any():
            raise InputValidationError(
                f"{self.path}, {_rows(self.row_numbers(bad))}, column {column!r}: expected "
                f"1/0, true/false or yes/no; found {values[int(np.flatnonzero(bad)[0])]!r}. "
                "Name the value that marks an event.",
                hint=Hint("event_value"),
            )
        return np.asarray(is_true, dtype=bool)
