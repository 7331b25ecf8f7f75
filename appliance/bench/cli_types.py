"""Argument types of the `appliance bench` commands: comma-separated lists and bounded numbers,
each refused with one line naming what is wrong."""

from __future__ import annotations

import argparse
from collections.abc import Callable

from cameras.jpeg import CHROMAS


def size_list(text: str) -> list[int]:
    parse = int_within(32, 4096)
    sizes = [parse(part) for part in text.split(",") if part.strip()]
    if not sizes or any(size % 32 for size in sizes):
        raise argparse.ArgumentTypeError(f"{text!r}: give multiples of 32, comma-separated")
    return sizes


def int_list(text: str) -> list[int]:
    parse = int_within(1, 64)
    return [parse(part) for part in text.split(",") if part.strip()]


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value > 0:
        raise argparse.ArgumentTypeError(f"must be positive, got {text!r}")
    return value


def name_list(text: str) -> list[str]:
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names:
        raise argparse.ArgumentTypeError(f"need at least one name, got {text!r}")
    return names


def quality_list(text: str) -> list[int]:
    parse = int_within(10, 100)
    values = [parse(part) for part in text.split(",") if part.strip()]
    if not values:
        raise argparse.ArgumentTypeError(f"need at least one quality, got {text!r}")
    return values


def chroma_list(text: str) -> list[str]:
    values = [part.strip() for part in text.split(",") if part.strip()]
    unknown = [v for v in values if v not in CHROMAS]
    if unknown or not values:
        raise argparse.ArgumentTypeError(f"chroma must be 420 or 444, got {text!r}")
    return values


def float_list(text: str) -> list[float]:
    try:
        values = [float(part) for part in text.split(",") if part.strip()]
    except ValueError:
        raise argparse.ArgumentTypeError(f"not comma-separated numbers: {text!r}") from None
    if not values or min(values) <= 0:
        raise argparse.ArgumentTypeError(f"need positive numbers, got {text!r}")
    return values


def int_within(low: int, high: int | None) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
        if value < low or (high is not None and value > high):
            bound = f"at least {low}" if high is None else f"within [{low}, {high}]"
            raise argparse.ArgumentTypeError(f"must be {bound}, got {value}")
        return value

    return parse
