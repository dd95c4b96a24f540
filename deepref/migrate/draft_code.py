"""The Python a drafted revision is written in, in the style of the hand-written ones.

Fields are written with the helpers revisions already use (deepref.models.fields,
deepref.models.base) or as plain peewee fields, with only the arguments that make the
column what it is: a field is reproduced by what the database holds, not by its Python
behaviour (an encrypted text field is a `pw.TextField` here, as in revision 002).
"""

from __future__ import annotations

import keyword
from dataclasses import dataclass, field

import peewee as pw

from deepref.migrate.shape import Unsupported
from deepref.models import fields as deepref_fields

INDENT = "    "
# deepref's field classes a revision may import: they change only what the database holds.
HELPERS = {cls: cls.__name__ for cls in (deepref_fields.UUIDKeyField, deepref_fields.TimestampField,
                                         deepref_fields.CreatedAtField,
                                         deepref_fields.JSONObjectField)}
FIELDS_MODULE = "deepref.models.fields"
BASE_MODULE = "deepref.models.base"
OPS_MODULE = "deepref.migrate.ops"
# Field attributes that make the column, as constructor arguments; the first three are
# always written (they are the type), the others when they differ from the class's default.
_ARGUMENTS = ("max_length", "max_digits", "decimal_places", "auto_round", "null", "primary_key",
              "collation")
_ALWAYS = {"max_length", "max_digits", "decimal_places"}


@dataclass
class Change:
    """One difference: its forward and backward code, and what the author must know."""

    summary: str
    forward: list[str]
    backward: list[str]
    notes: list[str] = field(default_factory=list)  # comments above the forward code
    back_notes: list[str] = field(default_factory=list)
    accept: dict[str, str] = field(default_factory=dict)  # lint rule -> the reason to give
    refs: set[str] = field(default_factory=set)  # tables the forward code takes from migrator.orm
    back_refs: set[str] = field(default_factory=set)


class Code:
    """What a draft's code imports, gathered as it is written: {(module, name)}."""

    def __init__(self):
        self.imports: set[tuple[str, str]] = set()

    def use(self, module: str, name: str) -> str:
        self.imports.add((module, name))
        return name


def field_call(code: Code, field: pw.Field, target=None, null: bool | None = None) -> str:
    """A constructor call making the same column as `field`. `target(table)` names the
    model a foreign key points to; `null` overrides the field's."""
    if isinstance(field, pw.ForeignKeyField):
        return _foreign_key(code, field, target, null)
    cls = _class_for(field)
    arguments = _arguments(field, cls())
    if null is not None and null != field.null:
        arguments["null"] = null
    if field.column_name != field.name:
        arguments["column_name"] = field.column_name
    helper = _helper(code, cls, arguments)
    if helper:
        return helper
    name = code.use(FIELDS_MODULE, HELPERS[cls]) if cls in HELPERS else f"pw.{cls.__name__}"
    return f"{name}({_join(code, arguments)})"


def _class_for(field: pw.Field) -> type:
    """The field's class if a revision can use it, else the nearest one holding the same type."""
    for cls in type(field).__mro__:
        if cls in HELPERS or (cls.__module__ == "peewee" and issubclass(cls, pw.Field)):
            if cls.field_type == field.field_type or cls is type(field):
                return cls
    raise Unsupported(f"{field.model._meta.table_name}.{field.column_name}: its field class "
                      f"{type(field).__name__} has no equivalent a revision can import")


def _arguments(field: pw.Field, default: pw.Field) -> dict:
    """The constructor arguments in which `field` differs from a `default` one."""
    arguments = {}
    for name in _ARGUMENTS:
        value = getattr(field, name, None)
        if value != getattr(default, name, None) or (name in _ALWAYS and value is not None):
            arguments[name] = value
    if _literal(field.default) and field.default != default.default:
        arguments["default"] = field.default
    texts = _constraint_texts(field)
    if texts != _constraint_texts(default):
        arguments["constraints"] = texts
    return arguments


def _literal(value) -> bool:
    return isinstance(value, (bool, int, float, str))


def _constraint_texts(field: pw.Field) -> list[str]:
    texts = []
    for constraint in field.constraints or ():
        if not isinstance(constraint, pw.SQL):
            raise Unsupported(f"{field.model._meta.table_name}.{field.column_name}: a column "
                              f"constraint that is not SQL text ({constraint!r})")
        texts.append(constraint.sql)
    return texts


def _join(code: Code, arguments: dict) -> str:
    return ", ".join(f"{name}={_constraints(code, value) if name == 'constraints' else text(value)}"
                     for name, value in arguments.items())


def text(value) -> str:
    """A literal as Python source, strings in double quotes as the revisions write them."""
    if isinstance(value, str) and not set(value) & {"\\", "\n", "\r", "\t"}:
        if '"' not in value:
            return f'"{value}"'
        if "'" in value and '"""' not in value and not value.endswith('"'):
            return f'"""{value}"""'  # SQL with both quotes, as revision 003 writes it
    if isinstance(value, tuple):
        inner = ", ".join(text(item) for item in value)
        return f"({inner},)" if len(value) == 1 else f"({inner})"
    return repr(value)


def _constraints(code: Code, texts: list[str]) -> str:
    if len(texts) == 1 and texts[0].upper().startswith("DEFAULT "):
        return f"{code.use(FIELDS_MODULE, 'server_default')}({text(texts[0][8:].strip())})"
    return "[" + ", ".join(f"pw.SQL({text(sql)})" for sql in texts) + "]"


def _helper(code: Code, cls: type, arguments: dict) -> str | None:
    """flag_field(...) or choice_field(...), when the field is exactly what it makes."""
    value, texts = arguments.get("default"), arguments.get("constraints")
    if cls is pw.BooleanField and arguments == {
            "default": value, "constraints": [f"DEFAULT {'true' if value else 'false'}"]}:
        return f"{code.use(FIELDS_MODULE, 'flag_field')}({value})"
    if (cls is pw.CharField and isinstance(value, str) and texts == [f"DEFAULT '{value}'"]
            and set(arguments) <= {"default", "constraints", "max_length"}):
        length = arguments.get("max_length", 255)
        return f"{code.use(FIELDS_MODULE, 'choice_field')}({length}, {text(value)})"
    return None


def _foreign_key(code: Code, field: pw.ForeignKeyField, target, null) -> str:
    to = '"self"' if field.rel_model is field.model else target(field.rel_model._meta.table_name)
    null = field.null if null is None else null
    extra = []
    if null:
        extra.append("null=True")
    if field.column_name != f"{field.name}_id":
        extra.append(f"column_name={text(field.column_name)}")
    if field.rel_field is not field.rel_model._meta.primary_key:
        extra.append(f"field={text(field.rel_field.name)}")
    if field.on_update:
        extra.append(f"on_update={text(field.on_update)}")
    if _literal(field.default):
        extra.append(f"default={text(field.default)}")
    if field.constraint_name:
        on_delete = field.on_delete or "NO ACTION"
        head = f"{to}, {text(field.constraint_name)}, {text(on_delete)}"
        return f"{code.use(BASE_MODULE, 'foreign_key')}({', '.join([head, *extra])})"
    if field.on_delete:
        extra.insert(0, f"on_delete={text(field.on_delete)}")
    return f"pw.ForeignKeyField({', '.join([to, *extra, 'index=False'])})"


def model(code: Code, model, checks: dict[str, str], target, class_name: str) -> list[str]:
    """`@migrator.create_model` and a class making the model's table, CHECKs included
    (SQLite cannot add them later); its indexes are declared apart."""
    lines = ["@migrator.create_model", f"class {class_name}(pw.Model):"]
    for f in model._meta.sorted_fields:
        lines.append(f"{INDENT}{f.name} = {field_call(code, f, target)}")
    lines += ["", f"{INDENT}class Meta:", f"{INDENT * 2}table_name = {text(model._meta.table_name)}"]
    key = model._meta.primary_key
    if isinstance(key, pw.CompositeKey):
        names = ", ".join(text(name) for name in key.field_names)
        lines.append(f"{INDENT * 2}primary_key = pw.CompositeKey({names})")
    if checks:
        check = code.use(BASE_MODULE, "check")
        lines.append(f"{INDENT * 2}constraints = [")
        lines += [f"{INDENT * 3}{check}({text(name)}, {text(body)})," for name, body in checks.items()]
        lines.append(f"{INDENT * 2}]")
    return lines


def sql_index(code: Code, name: str, target: str | None) -> list[str]:
    """create_index_sql (or, no `target`, drop_index_sql) for PostgreSQL only."""
    if target is None:
        call_ = f"{code.use(OPS_MODULE, 'drop_index_sql')}(migrator, {text(name)}, concurrently=True)"
    else:
        call_ = (f"{code.use(OPS_MODULE, 'create_index_sql')}(migrator, {text(name)}, "
                 f"{text(target)}, concurrently=True)")
    return ["if database.is_postgres:  # GIN and expression indexes: PostgreSQL only",
            f"{INDENT}{call_}"]


def specs(indexes) -> list[str]:
    """A list of IndexSpec tuples, one a line."""
    return ["["] + [f"{INDENT}{text(index.spec())}," for index in indexes] + ["]"]


def call(name: str, *arguments: str, lines: list[str] | None = None, tail: str = "") -> list[str]:
    """`name(arguments..., <lines>, tail)` over as many lines as it needs."""
    head = f"{name}({', '.join(arguments)}"
    if not lines:
        return [f"{head}{', ' + tail if tail else ''})"]
    body = [f"{head}, {lines[0]}", *lines[1:-1], f"{lines[-1]}{', ' + tail if tail else ''})"]
    return body


def variable(table: str, taken: set[str]) -> str:
    """A Python name for a table's model in a revision."""
    name = table if table.isidentifier() and not keyword.iskeyword(table) else "table"
    while name in taken:
        name += "_model"
    return name
