"""A resolved config as YAML that documents itself: each key preceded by its description.

`macrostack config show core > mine.yaml` gives a file a researcher can edit without the
docs open; the comments are YAML comments, so `macrostack run mine.yaml` loads the same config
(same hash). Descriptions come from the pydantic models (field descriptions, and a section's
class docstring), so they cannot drift from what is validated.
"""

from __future__ import annotations

import re

import yaml
from pydantic import BaseModel

from macrostack.config import ENGINE_PARAMS, SleeveConfig, StackConfig

_KEY = re.compile(r"(?P<indent> *)(?P<key>[A-Za-z_][A-Za-z0-9_]*):(?: |$)")


def _model_of(annotation) -> type[BaseModel] | None:
    return annotation if isinstance(annotation, type) and issubclass(annotation, BaseModel) else None


def _describe(model: type[BaseModel], key: str) -> tuple[str | None, type[BaseModel] | None]:
    """(description of `key` in `model`, the model of its value when it is a section)."""
    field = model.model_fields.get(key)
    if field is None:
        return None, None
    sub = _model_of(field.annotation)
    doc = (sub.__doc__ or "").strip().split("\n")[0] if sub else ""
    return field.description or doc or None, sub


def commented_yaml(cfg: StackConfig) -> str:
    """The resolved config as YAML with a `# description` line above every documented key."""
    raw = cfg.resolved()
    # No line wrapping: a comment line can then never land inside a folded scalar.
    text = yaml.safe_dump(raw, sort_keys=False, allow_unicode=True, width=float("inf"))
    out: list[str] = []
    stack: list[tuple[int, type[BaseModel] | None, str]] = []  # (indent, model of the mapping below, key)
    for line in text.splitlines():
        m = _KEY.match(line)
        if m is None:
            out.append(line)
            continue
        indent, key = len(m["indent"]), m["key"]
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1] if stack else (None, StackConfig, "")
        path = [k for _, _, k in stack] + [key]
        model = parent[1]
        if path[0] == "sleeves" and len(path) == 2:  # a sleeve name: its mapping is a SleeveConfig
            description, sub = None, SleeveConfig
        elif path[0] == "sleeves" and len(path) == 3 and key == "params":
            description, _ = _describe(SleeveConfig, "params")
            engine = raw["sleeves"][path[1]]["engine"]
            sub = ENGINE_PARAMS.get(engine)
            description = f"{description}: {(sub.__doc__ or '').strip().splitlines()[0]}" if sub else description
        elif model is not None:
            description, sub = _describe(model, key)
        else:
            description, sub = None, None
        if description:
            out.append(f"{' ' * indent}# {' '.join(description.split())}")
        out.append(line)
        stack.append((indent, sub, key))
    return "\n".join(out) + "\n"
