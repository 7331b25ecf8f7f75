"""Render the configuration reference (docs/configuration.md) from the config models themselves.

The descriptions live once, on the pydantic fields; this keeps the docs from drifting.
Run `python -m appliance.config_docs > docs/configuration.md` after changing a model.
"""

from __future__ import annotations

import json
from enum import Enum
from typing import Any

from pydantic import BaseModel
from pydantic.fields import FieldInfo
from pydantic_core import PydanticUndefined

from appliance.cloud.config import CloudWorkerConfig
from appliance.demo_config import DemoConfig
from appliance.edge.config import EdgeConfig
from cameras.config import CameraConfig
from ui.config import UiConfig

SECTIONS: list[tuple[str, str, type[BaseModel]]] = [
    ("Edge box", "`appliance edge --config edge.yaml`", EdgeConfig),
    ("Camera node", "`appliance camera --config camera.yaml`", CameraConfig),
    ("Demo", "`appliance demo --config demo.yaml`", DemoConfig),
    ("Cloud worker", "`appliance cloud --config cloud.yaml`", CloudWorkerConfig),
    ("Monitoring UI", "`appliance ui --config ui.yaml`", UiConfig),
]


def _nested_model(field: FieldInfo) -> type[BaseModel] | None:
    annotation = field.annotation
    candidates = [annotation, *getattr(annotation, "__args__", ())]
    for candidate in candidates:
        if isinstance(candidate, type) and issubclass(candidate, BaseModel):
            return candidate
    return None


def _default(field: FieldInfo) -> str:
    if field.default_factory is not None and _nested_model(field) is None:
        made = field.default_factory()  # type: ignore[call-arg]
        if made in ([], {}):
            return "none"
        if isinstance(made, dict):  # as a YAML file says it: enum keys by value, null
            made = json.dumps({k.value if isinstance(k, Enum) else k: v for k, v in made.items()})
        return f"`{made}`"
    if field.default_factory is not None or (
        field.default is PydanticUndefined and not field.is_required()
    ):
        return "(section)"
    if field.is_required():
        return "required"
    value: Any = field.default
    if value is None:
        return "none"
    if isinstance(value, Enum):
        value = value.value  # what a YAML file says
    return f"`{value}`" if value != "" else '`""`'


def _rows(model: type[BaseModel], prefix: str = "") -> list[str]:
    rows = []
    for name, field in model.model_fields.items():
        path = f"{prefix}{name}"
        nested = _nested_model(field)
        is_list = "list[" in str(field.annotation)
        shown = f"{path}[]" if is_list else path
        rows.append(f"| `{shown}` | {_default(field)} | {field.description or ''} |")
        if nested is not None:
            rows.extend(_rows(nested, f"{shown}."))
    return rows


def render() -> str:
    out = [
        "# Configuration reference",
        "",
        "Generated from the config models (`python -m appliance.config_docs`); "
        "a test keeps it current.",
        "Values of the form `${NAME}` are read from the environment (use it for tokens).",
        "An unknown key, a bad value or a missing required field stops the program with exit",
        "code 2 and one line naming the file, the field and the reason.",
    ]
    for title, usage, model in SECTIONS:
        out += ["", f"## {title}", "", usage, "", "| field | default | description |"]
        out += ["| --- | --- | --- |", *_rows(model)]
    return "\n".join(out) + "\n"


if __name__ == "__main__":
    print(render(), end="")
