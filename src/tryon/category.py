"""Garment categories shared by every stage: what part of the body a garment dresses."""

from __future__ import annotations

from enum import Enum

from tryon.errors import InputError


class Category(str, Enum):
    UPPER = "upper"  # tops, shirts, jackets
    LOWER = "lower"  # trousers, shorts, skirts
    DRESS = "dress"  # dresses, jumpsuits: upper and lower body

    @classmethod
    def parse(cls, value: "str | Category") -> "Category":
        if isinstance(value, Category):
            return value
        aliases = {"upper_body": "upper", "lower_body": "lower", "dresses": "dress", "top": "upper",
                   "bottom": "lower", "full": "dress"}
        key = aliases.get(str(value).strip().lower(), str(value).strip().lower())
        try:
            return cls(key)
        except ValueError:
            raise InputError(f"unknown category {value!r}: use upper, lower or dress") from None
