"""VOD media categories: AddCategory, GetCategories, UpdateCategory, DeleteCategory.

A category tree per type (``default`` for audio, video and images; ``material``), at most
three levels below the root (``ParentId`` -1), at most 100 subcategories under one parent,
names of at most 64 UTF-8 bytes (the AddCategory reference). Rows live in the state's
SQLite database. Deleting a category deletes its subtree; media filed under a deleted
category become uncategorised (``CateId`` -1). Every method validates before it writes.
"""

from __future__ import annotations

import sqlite3

from emulator.clock import Clock
from emulator.db import Database
from emulator.vod.exceptions import (
    CategoryLevelExceeded,
    CategoryNotFound,
    InvalidParameter,
    SubCategoriesExceeded,
)
from emulator.vod.records import Category
from emulator.vod.validation import check_text

ROOT = -1
MAX_DEPTH = 3
MAX_CHILDREN = 100
NAME_MAX_BYTES = 64
TYPES = frozenset({"default", "material"})
FIRST_ID = 1000000001

_SCHEMA = """
CREATE TABLE IF NOT EXISTS vod_categories (
    cate_id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    parent_id INTEGER NOT NULL,
    level INTEGER NOT NULL,
    type TEXT NOT NULL,
    created_at REAL NOT NULL
);
"""


def _category(row: sqlite3.Row) -> Category:
    return Category(
        cate_id=row["cate_id"],
        name=row["name"],
        parent_id=row["parent_id"],
        level=row["level"],
        type=row["type"],
        created_at=row["created_at"],
    )


def check_type(value: str) -> str:
    kind = value or "default"
    if kind not in TYPES:
        raise InvalidParameter("Type", f"Valid values: {', '.join(sorted(TYPES))}.")
    return kind


class CategoryStore:
    def __init__(self, db: Database, clock: Clock) -> None:
        self._db = db
        self._clock = clock
        db.ensure_schema(_SCHEMA)

    def add(self, *, name: str, parent_id: int | None, kind: str) -> Category:
        check_text("CateName", name, max_bytes=NAME_MAX_BYTES)
        if not name.strip():
            raise InvalidParameter("CateName", "It must not be empty.")
        kind = check_type(kind)
        parent = ROOT if parent_id is None else parent_id
        with self._db.transaction() as conn:
            level = 0
            if parent != ROOT:
                parent_category = self._get(conn, parent)
                if parent_category is None:
                    raise CategoryNotFound(parent)
                kind = parent_category.type
                level = parent_category.level + 1
                if level >= MAX_DEPTH:
                    raise CategoryLevelExceeded(MAX_DEPTH)
            (children,) = conn.execute(
                "SELECT COUNT(*) FROM vod_categories WHERE parent_id = ? AND type = ?",
                (parent, kind),
            ).fetchone()
            if children >= MAX_CHILDREN:
                raise SubCategoriesExceeded(MAX_CHILDREN)
            (largest,) = conn.execute("SELECT MAX(cate_id) FROM vod_categories").fetchone()
            cate_id = FIRST_ID if largest is None else int(largest) + 1
            category = Category(
                cate_id=cate_id,
                name=name,
                parent_id=parent,
                level=level,
                type=kind,
                created_at=self._clock.now(),
            )
            conn.execute(
                "INSERT INTO vod_categories VALUES (?, ?, ?, ?, ?, ?)",
                (cate_id, name, parent, level, kind, category.created_at),
            )
        return category

    def get(self, cate_id: int) -> Category | None:
        with self._db.read() as conn:
            return self._get(conn, cate_id)

    def require(self, cate_id: int) -> Category:
        category = self.get(cate_id)
        if category is None:
            raise CategoryNotFound(cate_id)
        return category

    @staticmethod
    def _get(conn: sqlite3.Connection, cate_id: int) -> Category | None:
        row = conn.execute("SELECT * FROM vod_categories WHERE cate_id = ?", (cate_id,)).fetchone()
        return None if row is None else _category(row)

    def children(self, parent_id: int, *, kind: str, descending: bool = False) -> list[Category]:
        order = "DESC" if descending else "ASC"
        with self._db.read() as conn:
            rows = conn.execute(
                "SELECT * FROM vod_categories WHERE parent_id = ? AND type = ?"
                f" ORDER BY created_at {order}, cate_id {order}",
                (parent_id, kind),
            ).fetchall()
        return [_category(row) for row in rows]

    def count_children(self, parent_id: int, kind: str) -> int:
        with self._db.read() as conn:
            (count,) = conn.execute(
                "SELECT COUNT(*) FROM vod_categories WHERE parent_id = ? AND type = ?",
                (parent_id, kind),
            ).fetchone()
        return int(count)

    def rename(self, cate_id: int, name: str) -> Category:
        check_text("CateName", name, max_bytes=NAME_MAX_BYTES)
        if not name.strip():
            raise InvalidParameter("CateName", "It must not be empty.")
        with self._db.transaction() as conn:
            if self._get(conn, cate_id) is None:
                raise CategoryNotFound(cate_id)
            conn.execute("UPDATE vod_categories SET name = ? WHERE cate_id = ?", (name, cate_id))
            category = self._get(conn, cate_id)
        assert category is not None
        return category

    def delete(self, cate_id: int) -> list[int]:
        """Delete a category and its subtree; returns every id deleted."""
        with self._db.transaction() as conn:
            if self._get(conn, cate_id) is None:
                raise CategoryNotFound(cate_id)
            doomed = [cate_id]
            frontier = [cate_id]
            while frontier:
                marks = ",".join("?" for _ in frontier)
                rows = conn.execute(
                    f"SELECT cate_id FROM vod_categories WHERE parent_id IN ({marks})",
                    frontier,
                ).fetchall()
                frontier = [row[0] for row in rows]
                doomed.extend(frontier)
            marks = ",".join("?" for _ in doomed)
            conn.execute(f"DELETE FROM vod_categories WHERE cate_id IN ({marks})", doomed)
        return doomed

    def names(self) -> dict[int, str]:
        with self._db.read() as conn:
            rows = conn.execute("SELECT cate_id, name FROM vod_categories").fetchall()
        return {row[0]: row[1] for row in rows}

    def all(self) -> list[Category]:
        with self._db.read() as conn:
            rows = conn.execute("SELECT * FROM vod_categories ORDER BY cate_id").fetchall()
        return [_category(row) for row in rows]

    def reset(self) -> None:
        with self._db.transaction() as conn:
            conn.execute("DELETE FROM vod_categories")
