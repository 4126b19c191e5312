"""What the code of each schema level reads and writes (levels = migrations 0001..0003)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ItemsSchema:
    level: int

    @property
    def name_column(self) -> str:
        return "title" if self.level >= 3 else "name"

    @property
    def has_tags(self) -> bool:
        return self.level >= 2

    def columns(self) -> str:
        tags = ", tags" if self.has_tags else ""
        return f"id, {self.name_column}, created_at{tags}"

    def select_recent(self) -> str:
        return f"SELECT {self.columns()} FROM items ORDER BY id DESC LIMIT %s"

    def insert(self, name: str, tags: list[str]) -> tuple[str, tuple]:
        if self.has_tags:
            return (f"INSERT INTO items ({self.name_column}, tags) VALUES (%s, %s) "
                    f"RETURNING {self.columns()}", (name, tags))
        return (f"INSERT INTO items ({self.name_column}) VALUES (%s) RETURNING {self.columns()}",
                (name,))

    def item(self, row: tuple) -> dict:
        item = {"id": row[0], "name": row[1], "created_at": row[2].isoformat()}
        if self.has_tags:
            item["tags"] = list(row[3])
        return item
