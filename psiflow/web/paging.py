"""A page of a list read as rows (Flask-SQLAlchemy's `paginate` gives whole records only)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class RowPage:
    """A page of rows of a multi-column query (db.paginate returns scalars only)."""

    page: int
    per_page: int
    total: int
    rows: list

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // self.per_page))

    @property
    def has_prev(self) -> bool:
        return self.page > 1

    @property
    def has_next(self) -> bool:
        return self.page < self.pages

    @property
    def prev_num(self) -> int:
        return self.page - 1

    @property
    def next_num(self) -> int:
        return self.page + 1
