"""A form built from a spec class: each dotted key becomes the widget its pydantic type asks for
(Literal → dropdown, bool → checkbox, int/float → number, str → textbox), with the spec's default.
The form's values are written back into the preset dict and validated by the same spec."""
from __future__ import annotations

import copy
import types
import typing
from typing import Any, Literal, Union

import gradio as gr
from pydantic import BaseModel


def _field(spec_cls: type[BaseModel], dotted: str):
    cls = spec_cls
    parts = dotted.split(".")
    for i, part in enumerate(parts):
        info = cls.model_fields[part]
        if i == len(parts) - 1:
            return info
        cls = _model_in(info.annotation)
    raise KeyError(dotted)


def _model_in(annotation) -> type[BaseModel]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return annotation
    for arg in typing.get_args(annotation):
        if isinstance(arg, type) and issubclass(arg, BaseModel):
            return arg
    raise TypeError(f"not a model: {annotation}")


def _base_type(annotation):
    """(kind, choices) with Optional stripped."""
    if typing.get_origin(annotation) is Literal:
        return "choice", list(typing.get_args(annotation))
    if typing.get_origin(annotation) in (Union, types.UnionType):
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return _base_type(args[0])
        return "text", None
    if annotation is bool:
        return "bool", None
    if annotation is int:
        return "int", None
    if annotation is float:
        return "float", None
    return "text", None


def default_value(spec_cls: type[BaseModel], dotted: str) -> Any:
    obj: Any = spec_cls.model_construct()
    cls, parts = spec_cls, dotted.split(".")
    for part in parts[:-1]:
        cls = _model_in(cls.model_fields[part].annotation)
        obj = getattr(obj, part, None)
        if not isinstance(obj, BaseModel):  # a required section (dataset) has no default object: use its own defaults
            obj = cls.model_construct()
    return getattr(obj, parts[-1], None)


def get_in(data: dict, dotted: str, fallback: Any = None) -> Any:
    node: Any = data
    for part in dotted.split("."):
        if not isinstance(node, dict) or part not in node:
            return fallback
        node = node[part]
    return node


def set_in(data: dict, dotted: str, value: Any) -> None:
    parts = dotted.split(".")
    node = data
    for part in parts[:-1]:
        node = node.setdefault(part, {})
    node[parts[-1]] = value


class SpecForm:
    def __init__(self, spec_cls: type[BaseModel], keys: list[str], id_prefix: str = "f-",
                 choices: dict[str, list] | None = None, own: tuple[str, ...] = ()):
        """`own`: keys that are no field of the spec (the Data tab's list of methods, which is `method` plus
        `combine_with`); the tab's own to_spec maps them, makes their widget (`component=`), and their
        values pass through unchanged."""
        self.spec_cls = spec_cls
        self.keys = keys
        self.id_prefix = id_prefix
        self.kinds = {k: ("own", None) if k in own else _base_type(_field(spec_cls, k).annotation) for k in keys}
        for key, options in (choices or {}).items():  # a tab may offer choices the spec maps itself
            self.kinds[key] = ("choice", options)
        self.widgets: dict[str, gr.components.Component] = {}

    def widget(self, key: str, label: str, data: dict | None = None, component: type | None = None,
               elem_id: str | None = None, **kwargs) -> gr.components.Component:
        """The widget for `key`, showing its value in `data` (a preset dict) or the spec default. `component`
        (e.g. gr.Slider, gr.CheckboxGroup) replaces the widget the type asks for and takes the value as is;
        `elem_id` replaces the one made from the key (a tab keeping the ids its tests use)."""
        kind, choices = self.kinds[key]
        default = get_in(data or {}, key, None if kind == "own" else default_value(self.spec_cls, key))
        elem_id = elem_id or self.id_prefix + key.replace(".", "-").replace("_", "-")
        if component is not None:
            w = component(value=default, label=label, elem_id=elem_id, **kwargs)
            self.widgets[key] = w
            return w
        if isinstance(default, list):
            default = ", ".join(map(str, default))
        if kind == "choice":
            w = gr.Dropdown(choices=choices, value=default, label=label, elem_id=elem_id, **kwargs)
        elif kind == "bool":
            w = gr.Checkbox(value=bool(default), label=label, elem_id=elem_id, **kwargs)
        elif kind == "int":
            w = gr.Number(value=default, precision=0, label=label, elem_id=elem_id, **kwargs)
        elif kind == "float":
            w = gr.Number(value=default, label=label, elem_id=elem_id, **kwargs)
        else:
            w = gr.Textbox(value="" if default is None else str(default), label=label, elem_id=elem_id, **kwargs)
        self.widgets[key] = w
        return w

    def components(self) -> list:
        return [self.widgets[k] for k in self.keys]

    def values_from(self, data: dict) -> list:
        out = []
        for key in self.keys:
            kind, _ = self.kinds[key]
            value = get_in(data, key, None if kind == "own" else default_value(self.spec_cls, key))
            if kind == "own":
                out.append(value)
                continue
            out.append("" if kind == "text" and value is None else (", ".join(value) if isinstance(value, list) else value))
        return out

    def to_dict(self, base: dict, values: list) -> dict:
        data = copy.deepcopy(base)
        for key, value in zip(self.keys, values):
            kind, _ = self.kinds[key]
            if kind == "int" and isinstance(value, float) and value.is_integer():
                value = int(value)
            if kind == "text" and isinstance(value, str):
                value = value.strip()
                if value == "" and default_value(self.spec_cls, key) is None:
                    value = None
            set_in(data, key, value)
        return data
