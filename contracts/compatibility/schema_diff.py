"""JSON Schema diff with Confluent Schema Registry's change taxonomy.

:func:`diff_schemas` lists the changes from an old schema to a new one, each a
:class:`SchemaChange` with a type from :class:`SchemaChangeType` and a Confluent-style pointer
(``"#/properties/foo"``). The new schema is BACKWARD compatible with the old one (it can read every
document the old one accepted) when every change is in the policy's compatible set. FORWARD is the
same check with the arguments swapped, FULL both.

The algorithm follows Confluent's ``io.confluent.kafka.schemaregistry.json.diff`` package: both
schemas are first classified (:mod:`.schema_diff_model`), then compared node by node. Notable
rules:

* Content models. Adding or removing an object property (or a tuple item) is judged by what the
  other side allowed in its place: anything (*open*), nothing (*closed*) or a schema (*partially
  open*: ``patternProperties``, ``additionalProperties``, ``unevaluatedProperties``, and their item
  counterparts).
* Combined schemas. Subschemas of two ``allOf``/``anyOf``/``oneOf`` are paired by a maximum
  matching of compatible pairs; a plain schema is compatible with a union containing a compatible
  branch, and an ``allOf`` with a plain schema one of its parts is compatible with.
* Decisions taken inside the diff (is a branch compatible, is a removed property covered) always use
  the STRICT set, as Confluent does; the policy only applies to the final verdict.
* References are followed; a pair of schemas met again while it is still being compared is a
  recursive cycle and counts as compatible.
* Equal subschemas are skipped, unread (see :func:`_unchanged_test`): comparing a wide schema with
  an earlier version of itself costs little more than finding what changed.

Where Confluent's result is plainly an artefact of its Java model we stay sound instead (none of
these shows in Confluent's own test cases): ``contains`` is compared like ``items``; a property
that no ``patternProperties`` matches falls to ``additionalProperties`` (open if that is absent)
rather than counting as closed; an absent ``unevaluated*`` equals ``true``; draft 4 boolean
``exclusiveMaximum``/``exclusiveMinimum`` are honoured; a ``$ref`` that does not resolve inside
the document is compared by its text; in 2019-09/2020-12 a ``$ref`` with sibling keywords is an
``allOf`` of the target and the siblings.
"""

from __future__ import annotations

import operator
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Final

from contracts.compatibility.change_types import (
    STRICT_COMPATIBLE,
    Policy,
    SchemaChangeType,
    compatible_changes,
)
from contracts.compatibility.schema_diff_matching import best_matching
from contracts.compatibility.schema_diff_model import (
    ArrayNode,
    CombinedNode,
    ConditionalNode,
    ConstNode,
    Criterion,
    Document,
    EmptyNode,
    EnumNode,
    FalseNode,
    Node,
    NotNode,
    NumberNode,
    ObjectNode,
    StringNode,
    UnresolvedNode,
    deref,
    json_text,
    load_schema,
    pattern_matches,
)
from contracts.paths import pointer_segment

__all__ = [
    "Policy",
    "SchemaChange",
    "SchemaChangeType",
    "diff_schemas",
    "is_backward_compatible",
    "load_schema",
]

T = SchemaChangeType
Path = tuple[str, ...]
Change = tuple[SchemaChangeType, Path]
"""A change with its path relative to the pair of schemas being compared."""

# What a container (object or array) allows where the other side has a property or item that it
# lacks: anything (True), nothing (False) or the values of a schema.
Slot = Node | bool


@dataclass(frozen=True, slots=True)
class SchemaChange:
    """One difference between two schemas."""

    type: SchemaChangeType
    path: str
    """Where the change is, as a Confluent-style pointer: ``"#/"``, ``"#/properties/foo"``."""

    def is_compatible(self, policy: Policy | str) -> bool:
        """Whether this change keeps the new schema BACKWARD compatible under ``policy``."""
        return self.type in compatible_changes(policy)

    def __str__(self) -> str:
        return f"{self.type} {self.path}"


def diff_schemas(
    original: Mapping[str, Any] | bool | Node, update: Mapping[str, Any] | bool | Node
) -> list[SchemaChange]:
    """Changes from original to update; BACKWARD-compatible iff all changes are compatible.

    Either side may be a schema already loaded with `load_schema`, so that comparing one
    schema with many (transitive modes) loads each only once.
    """
    before = original if isinstance(original, Node) else load_schema(original)
    after = update if isinstance(update, Node) else load_schema(update)
    changes = _Differ(_unchanged_test(before.document, after.document)).compare(before, after)
    return [
        SchemaChange(kind, "#/" + "/".join(map(pointer_segment, path))) for kind, path in changes
    ]


def is_backward_compatible(
    original: Mapping[str, Any] | bool,
    update: Mapping[str, Any] | bool,
    policy: Policy | str = Policy.STRICT,
) -> bool:
    """Whether a reader using ``update`` can read what was written with ``original``."""
    return all(change.is_compatible(policy) for change in diff_schemas(original, update))


# Text in a subschema that may make it differ from an equal one (see `_unchanged_test`).
_UNSAFE: Final = (
    '"$ref"',  # may resolve to different schemas in the two documents
    '"not"',  # `not` against an equal `not` reports NOT_TYPE_NARROWED
    "NaN",  # not equal to itself
    "Infinity",
)
_BOOLEANS: Final = ("true", "false")


def _unchanged_test(
    original: Document | None, update: Document | None
) -> Callable[[Any, Any], bool]:
    """A test of "these two subschemas have no changes", from their JSON values alone.

    Equal subschemas of documents of one dialect are read alike, so they compare without changes,
    unless they hold a reference, a ``not`` or a non-finite number (see ``_UNSAFE``). The test
    says so only when sure: when neither document holds any of that, nor a boolean (``==`` takes
    ``true`` for ``1``), plain ``==`` is the test; otherwise each subschema's JSON text is checked.
    """
    if original is None or update is None or original.dialect != update.dialect:
        return _never
    if original.text is None or update.text is None:
        return _never
    if not any(d.mentions(token) for d in (original, update) for token in (*_UNSAFE, *_BOOLEANS)):
        return operator.eq
    return _equal_and_safe


def _never(original: Any, update: Any) -> bool:
    return False


def _equal_and_safe(original: Any, update: Any) -> bool:
    if original != update:
        return False
    text = json_text(original)
    return text is not None and text == json_text(update) and not any(t in text for t in _UNSAFE)


_ANNOTATIONS = frozenset({T.ID_CHANGED, T.TITLE_CHANGED, T.DESCRIPTION_CHANGED, T.DEFAULT_CHANGED})


def _compatible(changes: Iterable[Change]) -> bool:
    return all(kind in STRICT_COMPATIBLE for kind, _ in changes)


def _under(prefix: Path, changes: Iterable[Change]) -> list[Change]:
    return [(kind, prefix + path) for kind, path in changes]


def _is_empty(node: Node) -> bool:
    return isinstance(deref(node), EmptyNode)


def _is_false(node: Node) -> bool:
    return isinstance(deref(node), FalseNode)


def _has_default(node: Node) -> bool:
    # A default written beside a $ref counts as well as one on the referenced schema.
    return node.meta.default is not None or deref(node).meta.default is not None


@dataclass(frozen=True, slots=True)
class _Bound:
    """The change types for one numeric keyword (``maxLength``, ``minimum``...)."""

    keyword: str
    added: SchemaChangeType
    removed: SchemaChangeType
    increased: SchemaChangeType
    decreased: SchemaChangeType

    def compare(self, old: float | None, new: float | None) -> list[Change]:
        if old == new:
            return []
        if old is None:
            kind = self.added
        elif new is None:
            kind = self.removed
        else:
            kind = self.increased if new > old else self.decreased
        return [(kind, (self.keyword,))]


def _bound(keyword: str, stem: str) -> _Bound:
    return _Bound(
        keyword,
        T(f"{stem}_ADDED"),
        T(f"{stem}_REMOVED"),
        T(f"{stem}_INCREASED"),
        T(f"{stem}_DECREASED"),
    )


_MAX_LENGTH: Final = _bound("maxLength", "MAX_LENGTH")
_MIN_LENGTH: Final = _bound("minLength", "MIN_LENGTH")
_MAXIMUM: Final = _bound("maximum", "MAXIMUM")
_MINIMUM: Final = _bound("minimum", "MINIMUM")
_EXCLUSIVE_MAXIMUM: Final = _bound("exclusiveMaximum", "EXCLUSIVE_MAXIMUM")
_EXCLUSIVE_MINIMUM: Final = _bound("exclusiveMinimum", "EXCLUSIVE_MINIMUM")
_MAX_PROPERTIES: Final = _bound("maxProperties", "MAX_PROPERTIES")
_MIN_PROPERTIES: Final = _bound("minProperties", "MIN_PROPERTIES")
_MAX_ITEMS: Final = _bound("maxItems", "MAX_ITEMS")
_MIN_ITEMS: Final = _bound("minItems", "MIN_ITEMS")
_MAX_CONTAINS: Final = _bound("maxContains", "MAX_CONTAINS")
_MIN_CONTAINS: Final = _bound("minContains", "MIN_CONTAINS")


def _exclusion(
    keyword: str,
    bound: float | None,
    excluded: tuple[bool, bool],
    relaxed: SchemaChangeType,
    tightened: SchemaChangeType,
) -> list[Change]:
    """Draft 4's ``"exclusiveMaximum": true`` toggled on an unchanged ``maximum`` (or minimum)."""
    old, new = excluded
    if bound is None or old == new:
        return []
    return [(relaxed if old else tightened, (keyword,))]


def _unevaluated_slot(unevaluated: Node | None) -> Slot:
    if unevaluated is None or _is_empty(unevaluated):
        return True
    return False if _is_false(unevaluated) else unevaluated


def _property_slot(schema: ObjectNode, name: str) -> Slot:
    """What ``schema`` allows for a property ``name`` it does not declare."""
    for pattern, subschema in schema.pattern_properties:
        if pattern_matches(pattern, name):
            return subschema
    if not schema.additional_allowed:
        return False
    if schema.additional_schema is not None:
        return schema.additional_schema
    return _unevaluated_slot(schema.unevaluated)


def _item_slot(schema: ArrayNode) -> Slot:
    """What ``schema`` allows for an item after its tuple."""
    if not schema.additional_allowed:
        return False
    if schema.additional_schema is not None:
        return schema.additional_schema
    return _unevaluated_slot(schema.unevaluated)


class _Differ:
    """One comparison of two documents, with its memo of pairs already compared."""

    def __init__(self, unchanged: Callable[[Any, Any], bool] = _never) -> None:
        self._memo: dict[tuple[Node, Node], tuple[Change, ...]] = {}
        self._active: set[tuple[Node, Node]] = set()
        self._unchanged = unchanged
        """Whether two subschemas, as JSON values, are sure to have no changes."""

    def compare(self, original: Node | None, update: Node | None) -> list[Change]:
        """Changes from ``original`` to ``update``, with paths relative to them."""
        if original is None or update is None:
            if original is None and update is None:
                return []
            return [(T.SCHEMA_ADDED if original is None else T.SCHEMA_REMOVED, ())]
        pair = (deref(original), deref(update))
        # Equal JSON values give alike nodes, unless the nodes are different parts of them.
        if pair[0].tag == pair[1].tag and self._unchanged(pair[0].source, pair[1].source):
            return []
        cached = self._memo.get(pair)
        if cached is None:
            if pair in self._active:
                return []  # a recursive schema met itself: assume compatible, like Confluent
            self._active.add(pair)
            try:
                cached = self._memo[pair] = tuple(self._compare(*pair))
            finally:
                self._active.discard(pair)
        return list(cached)

    def _compare(self, original: Node, update: Node) -> list[Change]:
        bridged = self._bridge_combined(original, update)
        if bridged is not None:
            return bridged
        if type(original) is not type(update):
            # Anything may become "accept everything", and "accept nothing" may become anything.
            if isinstance(original, FalseNode) or isinstance(update, EmptyNode):
                return []
            return [(T.TYPE_CHANGED, ())]

        changes: list[Change] = []
        # A type only inferred from its keywords ("object?:") constrains that type and lets
        # every other one through; declaring it ("object:") refuses the others.
        inferred = original.inferred, update.inferred
        if inferred == (True, False):
            changes.append((T.TYPE_NARROWED, ()))
        elif inferred == (False, True):
            changes.append((T.TYPE_EXTENDED, ()))
        old, new = original.meta, update.meta
        if old.id != new.id:
            changes.append((T.ID_CHANGED, ()))
        if old.title != new.title:
            changes.append((T.TITLE_CHANGED, ()))
        if old.description != new.description:
            changes.append((T.DESCRIPTION_CHANGED, ()))
        if old.default != new.default:
            changes.append((T.DEFAULT_CHANGED, ()))

        match original, update:
            case StringNode(), StringNode():
                changes += self._strings(original, update)
            case NumberNode(), NumberNode():
                changes += self._numbers(original, update)
            case EnumNode(), EnumNode():
                changes += self._enums(original, update)
            case ConstNode(), ConstNode():
                if original.value != update.value:
                    changes.append((T.ENUM_ARRAY_CHANGED, ("const",)))
            case CombinedNode(), CombinedNode():
                changes += self._combined(original, update)
            case NotNode(), NotNode():
                # not A accepts more than not B exactly when B accepts more than A.
                inner = self.compare(update.negated, original.negated)
                narrowed = _compatible(inner)
                changes.append((T.NOT_TYPE_NARROWED if narrowed else T.NOT_TYPE_EXTENDED, ("not",)))
            case ObjectNode(), ObjectNode():
                changes += self._objects(original, update)
            case ArrayNode(), ArrayNode():
                changes += self._arrays(original, update)
            case ConditionalNode(), ConditionalNode():
                changes += self._conditionals(original, update)
            case UnresolvedNode(), UnresolvedNode():
                if original.ref != update.ref:
                    changes.append((T.TYPE_CHANGED, ()))
        return changes

    def _conditionals(self, original: ConditionalNode, update: ConditionalNode) -> list[Change]:
        """Branches compared as subschemas; a condition changed in any way moves documents
        between them, which no mode can accept."""
        for old, new in (
            (original.condition, update.condition),
            (update.condition, original.condition),
        ):
            if any(t not in _ANNOTATIONS for t, _ in self.compare(old, new)):
                return [(T.CONDITION_CHANGED, ("if",))]
        changes = [(t, ("then", *p)) for t, p in self.compare(original.then, update.then)]
        changes += [
            (t, ("else", *p)) for t, p in self.compare(original.otherwise, update.otherwise)
        ]
        return changes

    def _bridge_combined(self, original: Node, update: Node) -> list[Change] | None:
        """Compare a plain schema with a combined one, when one side subsumes the other."""
        if not isinstance(original, CombinedNode) and isinstance(update, CombinedNode):
            if len(update.subschemas) == 1:
                changes = self.compare(original, update.subschemas[0])
                if _compatible(changes):
                    return changes
            elif update.criterion is not Criterion.ALL:
                for branch in update.subschemas:
                    changes = self.compare(original, branch)
                    if _compatible(changes):
                        return [*changes, (T.SUM_TYPE_EXTENDED, ())]
        elif isinstance(original, CombinedNode) and not isinstance(update, CombinedNode):
            if len(original.subschemas) == 1:
                changes = self.compare(original.subschemas[0], update)
                if _compatible(changes):
                    return changes
            elif original.criterion is Criterion.ALL:
                for part in original.subschemas:
                    changes = self.compare(part, update)
                    if _compatible(changes):
                        return [*changes, (T.PRODUCT_TYPE_NARROWED, ())]
        return None

    # -- scalars ---------------------------------------------------------------------------

    @staticmethod
    def _strings(original: StringNode, update: StringNode) -> list[Change]:
        changes = _MAX_LENGTH.compare(original.max_length, update.max_length)
        changes += _MIN_LENGTH.compare(original.min_length, update.min_length)
        if original.pattern != update.pattern:
            if original.pattern is None:
                changes.append((T.PATTERN_ADDED, ("pattern",)))
            elif update.pattern is None:
                changes.append((T.PATTERN_REMOVED, ("pattern",)))
            else:
                changes.append((T.PATTERN_CHANGED, ("pattern",)))
        if original.format != update.format:
            if original.format is None:
                changes.append((T.FORMAT_ADDED, ("format",)))
            elif update.format is None:
                changes.append((T.FORMAT_REMOVED, ("format",)))
            else:
                changes.append((T.FORMAT_CHANGED, ("format",)))
        return changes

    @staticmethod
    def _numbers(original: NumberNode, update: NumberNode) -> list[Change]:
        changes = _MAXIMUM.compare(original.maximum, update.maximum) or _exclusion(
            "maximum",
            original.maximum,
            (original.maximum_excluded, update.maximum_excluded),
            T.MAXIMUM_INCREASED,
            T.MAXIMUM_DECREASED,
        )
        changes += _MINIMUM.compare(original.minimum, update.minimum) or _exclusion(
            "minimum",
            original.minimum,
            (original.minimum_excluded, update.minimum_excluded),
            T.MINIMUM_DECREASED,
            T.MINIMUM_INCREASED,
        )
        changes += _EXCLUSIVE_MAXIMUM.compare(original.exclusive_maximum, update.exclusive_maximum)
        changes += _EXCLUSIVE_MINIMUM.compare(original.exclusive_minimum, update.exclusive_minimum)
        old, new = original.multiple_of, update.multiple_of
        if old != new:
            if old is None:
                kind = T.MULTIPLE_OF_ADDED
            elif new is None:
                kind = T.MULTIPLE_OF_REMOVED
            else:
                # Exact arithmetic, so that e.g. 0.1 -> 0.3 is seen as a multiple.
                ratio = Fraction(str(new)) / Fraction(str(old))
                if ratio.denominator == 1:
                    kind = T.MULTIPLE_OF_EXPANDED
                elif ratio.numerator == 1:
                    kind = T.MULTIPLE_OF_REDUCED
                else:
                    kind = T.MULTIPLE_OF_CHANGED
            changes.append((kind, ("multipleOf",)))
        if original.integer != update.integer:
            changes.append((T.TYPE_EXTENDED if original.integer else T.TYPE_NARROWED, ()))
        return changes

    @staticmethod
    def _enums(original: EnumNode, update: EnumNode) -> list[Change]:
        if original.values == update.values:
            return []
        if update.values > original.values:
            return [(T.ENUM_ARRAY_EXTENDED, ("enum",))]
        if update.values < original.values:
            return [(T.ENUM_ARRAY_NARROWED, ("enum",))]
        return [(T.ENUM_ARRAY_CHANGED, ("enum",))]

    # -- allOf / anyOf / oneOf -------------------------------------------------------------

    def _combined(self, original: CombinedNode, update: CombinedNode) -> list[Change]:
        changes: list[Change] = []
        criterion_change = _criterion_change(original, update)
        if criterion_change is not None:
            changes.append((criterion_change, ()))
            if criterion_change is T.COMBINED_TYPE_CHANGED:
                return changes

        old, new = _distinct(original.subschemas), _distinct(update.subschemas)
        if len(old) < len(new):
            extended = update.criterion is Criterion.ALL
            changes.append((T.PRODUCT_TYPE_EXTENDED if extended else T.SUM_TYPE_EXTENDED, ()))
        elif len(old) > len(new):
            narrowed = original.criterion is Criterion.ALL
            changes.append((T.PRODUCT_TYPE_NARROWED if narrowed else T.SUM_TYPE_NARROWED, ()))

        edges: dict[tuple[int, int], list[Change]] = {}
        for i, old_subschema in enumerate(old):
            prefix = (original.criterion.value, str(i))
            for j, new_subschema in enumerate(new):
                pair_changes = self.compare(old_subschema, new_subschema)
                if _compatible(pair_changes):
                    edges[i, j] = _under(prefix, pair_changes)
        matching = best_matching(len(old), len(new), {e: len(c) for e, c in edges.items()})
        for edge in matching:
            changes += edges[edge]
        if len(matching) < min(len(old), len(new)):
            changes.append((T.COMBINED_TYPE_SUBSCHEMAS_CHANGED, ()))
        return changes

    # -- objects ---------------------------------------------------------------------------

    def _objects(self, original: ObjectNode, update: ObjectNode) -> list[Change]:
        changes: list[Change] = []
        # Property schemas are loaded only where needed: most of a wide object is unchanged.
        old_properties, new_properties = original.properties, update.properties
        old_raw, new_raw = old_properties.raw, new_properties.raw

        # Only properties required on one side: usually none, so the loop is skipped.
        toggled = original.required ^ update.required
        for name in [n for n in old_raw if n in toggled and n in new_raw] if toggled else []:
            if name in original.required:
                changes.append((T.REQUIRED_ATTRIBUTE_REMOVED, ("required", name)))
            else:
                kind = (
                    T.REQUIRED_ATTRIBUTE_WITH_DEFAULT_ADDED
                    if _has_default(new_properties[name])
                    else T.REQUIRED_ATTRIBUTE_ADDED
                )
                changes.append((kind, ("required", name)))

        unchanged = self._unchanged
        # Removed and changed properties, in the order of `_union` like the added ones below.
        for name in [
            name
            for name, schema in old_raw.items()
            if name not in new_raw or not unchanged(schema, new_raw[name])
        ]:
            path = ("properties", name)
            if name not in new_raw:
                changes += _under(path, self._property_removed(original, update, name))
            else:
                changes += _under(path, self.compare(old_properties[name], new_properties[name]))
        for name in new_raw:
            if name not in old_raw:
                changes += _under(
                    ("properties", name), self._property_added(original, update, name)
                )

        changes += self._dependencies(original, update)
        changes += self._patterns(original, update)
        changes += _under(
            ("propertyNames",), self.compare(original.property_names, update.property_names)
        )
        changes += _under(
            ("additionalProperties",),
            self._additional(
                (original.additional_allowed, original.additional_schema),
                (update.additional_allowed, update.additional_schema),
                T.ADDITIONAL_PROPERTIES_ADDED,
                T.ADDITIONAL_PROPERTIES_REMOVED,
                T.ADDITIONAL_PROPERTIES_EXTENDED,
                T.ADDITIONAL_PROPERTIES_NARROWED,
            ),
        )
        changes += _under(
            ("unevaluatedProperties",),
            self._unevaluated(
                original.unevaluated,
                update.unevaluated,
                T.UNEVALUATED_PROPERTIES_ADDED,
                T.UNEVALUATED_PROPERTIES_REMOVED,
                T.UNEVALUATED_PROPERTIES_EXTENDED,
                T.UNEVALUATED_PROPERTIES_NARROWED,
            ),
        )
        changes += _MAX_PROPERTIES.compare(original.max_properties, update.max_properties)
        changes += _MIN_PROPERTIES.compare(original.min_properties, update.min_properties)
        return changes

    def _property_removed(
        self, original: ObjectNode, update: ObjectNode, name: str
    ) -> list[Change]:
        slot = _property_slot(update, name)
        if slot is True:
            return [(T.PROPERTY_REMOVED_FROM_OPEN_CONTENT_MODEL, ())]
        old_schema = original.properties[name]
        if slot is False:
            if _is_false(old_schema):
                return [(T.PROPERTY_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL, ())]
            return [(T.PROPERTY_REMOVED_FROM_CLOSED_CONTENT_MODEL, ())]
        # Values of the removed property must still be accepted by the schema that now covers it.
        covered = self.compare(old_schema, slot)
        if _compatible(covered):
            return [*covered, (T.PROPERTY_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL, ())]
        return [*covered, (T.PROPERTY_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL, ())]

    def _property_added(self, original: ObjectNode, update: ObjectNode, name: str) -> list[Change]:
        new_schema = update.properties[name]
        required = name in update.required
        with_default = _has_default(new_schema)
        slot = _property_slot(original, name)
        if slot is True:
            if _is_empty(new_schema):
                return [(T.PROPERTY_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL, ())]
            if not required:
                return [(T.OPTIONAL_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL, ())]
            if with_default:
                return [(T.REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_OPEN_CONTENT_MODEL, ())]
            return [(T.REQUIRED_PROPERTY_ADDED_TO_OPEN_CONTENT_MODEL, ())]

        changes: list[Change] = []
        if slot is not False:
            # Old documents may hold the property already, as values of the covering schema.
            covered = self.compare(slot, new_schema)
            changes += covered
            if _compatible(covered):
                changes.append((T.PROPERTY_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL, ()))
            else:
                changes.append((T.PROPERTY_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL, ()))
        if not required:
            changes.append((T.OPTIONAL_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL, ()))
        elif with_default:
            changes.append((T.REQUIRED_PROPERTY_WITH_DEFAULT_ADDED_TO_UNOPEN_CONTENT_MODEL, ()))
        else:
            changes.append((T.REQUIRED_PROPERTY_ADDED_TO_UNOPEN_CONTENT_MODEL, ()))
        return changes

    def _patterns(self, original: ObjectNode, update: ObjectNode) -> list[Change]:
        """patternProperties, by pattern: a pattern in both is compared as a subschema; one
        added or removed moves the names it matches from or to additionalProperties.

        Only the moves that narrow are reported (a pattern added to an open content model,
        or removed from one that is not open): Confluent reports neither, and its cases,
        which hold only widening moves, keep their change sets.
        """
        old, new = dict(original.pattern_properties), dict(update.pattern_properties)
        changes: list[Change] = []
        for pattern, schema in old.items():
            path = ("patternProperties", pattern)
            if pattern in new:
                changes += _under(path, self.compare(schema, new[pattern]))
            elif not (update.additional_allowed and update.additional_schema is None):
                changes.append((T.PATTERN_PROPERTY_REMOVED, path))
        for pattern, schema in new.items():
            if pattern not in old and original.additional_allowed and not _is_empty(schema):
                changes.append((T.PATTERN_PROPERTY_ADDED, ("patternProperties", pattern)))
        return changes

    def _dependencies(self, original: ObjectNode, update: ObjectNode) -> list[Change]:
        changes: list[Change] = []
        old_arrays, new_arrays = original.property_dependencies, update.property_dependencies
        for name in _union(old_arrays, new_arrays):
            path = ("dependencies", name)
            if name not in new_arrays:
                changes.append((T.DEPENDENCY_ARRAY_REMOVED, path))
            elif name not in old_arrays:
                changes.append((T.DEPENDENCY_ARRAY_ADDED, path))
            elif new_arrays[name] != old_arrays[name]:
                if new_arrays[name] > old_arrays[name]:
                    changes.append((T.DEPENDENCY_ARRAY_EXTENDED, path))
                elif new_arrays[name] < old_arrays[name]:
                    changes.append((T.DEPENDENCY_ARRAY_NARROWED, path))
                else:
                    changes.append((T.DEPENDENCY_ARRAY_CHANGED, path))
        old_schemas, new_schemas = original.schema_dependencies, update.schema_dependencies
        for name in _union(old_schemas, new_schemas):
            path = ("dependencies", name)
            if name not in new_schemas:
                changes.append((T.DEPENDENCY_SCHEMA_REMOVED, path))
            elif name not in old_schemas:
                changes.append((T.DEPENDENCY_SCHEMA_ADDED, path))
            else:
                changes += _under(path, self.compare(old_schemas[name], new_schemas[name]))
        return changes

    def _additional(
        self,
        original: tuple[bool, Node | None],
        update: tuple[bool, Node | None],
        added: SchemaChangeType,
        removed: SchemaChangeType,
        extended: SchemaChangeType,
        narrowed: SchemaChangeType,
    ) -> list[Change]:
        """``additionalProperties`` / ``additionalItems``: allowed flag plus optional schema."""
        (old_allowed, old_schema), (new_allowed, new_schema) = original, update
        if old_allowed != new_allowed:
            return [(added if new_allowed else removed, ())]
        if old_schema is None and new_schema is not None:
            return [(narrowed, ())]
        if old_schema is not None and new_schema is None:
            return [(extended, ())]
        return self.compare(old_schema, new_schema)

    def _unevaluated(
        self,
        original: Node | None,
        update: Node | None,
        added: SchemaChangeType,
        removed: SchemaChangeType,
        extended: SchemaChangeType,
        narrowed: SchemaChangeType,
    ) -> list[Change]:
        """``unevaluatedProperties`` / ``unevaluatedItems``; absent means ``true``."""
        old, new = _unevaluated_slot(original), _unevaluated_slot(update)
        if old is new:  # both True or both False
            return []
        if new is False:
            return [(removed, ())]
        if old is False:
            return [(added, ())]
        if old is True:
            return [(narrowed, ())]
        if new is True:
            return [(extended, ())]
        return self.compare(old, new)

    # -- arrays ----------------------------------------------------------------------------

    def _arrays(self, original: ArrayNode, update: ArrayNode) -> list[Change]:
        changes = _under(("items",), self.compare(original.all_items, update.all_items))
        changes += self._tuple_items(original, update)
        changes += _under(
            ("additionalItems",),
            self._additional(
                (original.additional_allowed, original.additional_schema),
                (update.additional_allowed, update.additional_schema),
                T.ADDITIONAL_ITEMS_ADDED,
                T.ADDITIONAL_ITEMS_REMOVED,
                T.ADDITIONAL_ITEMS_EXTENDED,
                T.ADDITIONAL_ITEMS_NARROWED,
            ),
        )
        changes += _under(
            ("unevaluatedItems",),
            self._unevaluated(
                original.unevaluated,
                update.unevaluated,
                T.UNEVALUATED_ITEMS_ADDED,
                T.UNEVALUATED_ITEMS_REMOVED,
                T.UNEVALUATED_ITEMS_EXTENDED,
                T.UNEVALUATED_ITEMS_NARROWED,
            ),
        )
        # Confluent ignores `contains`; comparing it like `items` keeps the verdict sound.
        changes += _under(("contains",), self.compare(original.contains, update.contains))
        changes += _MAX_ITEMS.compare(original.max_items, update.max_items)
        changes += _MIN_ITEMS.compare(original.min_items, update.min_items)
        if original.unique_items != update.unique_items:
            kind = T.UNIQUE_ITEMS_REMOVED if original.unique_items else T.UNIQUE_ITEMS_ADDED
            changes.append((kind, ("uniqueItems",)))
        changes += _MAX_CONTAINS.compare(original.max_contains, update.max_contains)
        changes += _MIN_CONTAINS.compare(original.min_contains, update.min_contains)
        return changes

    def _tuple_items(self, original: ArrayNode, update: ArrayNode) -> list[Change]:
        changes: list[Change] = []
        old_items, new_items = original.tuple_items, update.tuple_items
        for index, (old, new) in enumerate(zip(old_items, new_items, strict=False)):
            changes += _under(("items", str(index)), self.compare(old, new))
        for index in range(len(new_items), len(old_items)):
            changes += _under(("items", str(index)), self._item_removed(old_items[index], update))
        for index in range(len(old_items), len(new_items)):
            changes += _under(("items", str(index)), self._item_added(new_items[index], original))
        return changes

    def _item_removed(self, old_schema: Node, update: ArrayNode) -> list[Change]:
        slot = _item_slot(update)
        if slot is True:
            return [(T.ITEM_REMOVED_FROM_OPEN_CONTENT_MODEL, ())]
        if slot is False:
            if _is_false(old_schema):
                return [(T.ITEM_WITH_FALSE_REMOVED_FROM_CLOSED_CONTENT_MODEL, ())]
            return [(T.ITEM_REMOVED_FROM_CLOSED_CONTENT_MODEL, ())]
        covered = self.compare(old_schema, slot)
        if _compatible(covered):
            return [*covered, (T.ITEM_REMOVED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL, ())]
        return [*covered, (T.ITEM_REMOVED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL, ())]

    def _item_added(self, new_schema: Node, original: ArrayNode) -> list[Change]:
        slot = _item_slot(original)
        if slot is True:
            if _is_empty(new_schema):
                return [(T.ITEM_WITH_EMPTY_SCHEMA_ADDED_TO_OPEN_CONTENT_MODEL, ())]
            return [(T.ITEM_ADDED_TO_OPEN_CONTENT_MODEL, ())]
        if slot is False:
            return [(T.ITEM_ADDED_TO_CLOSED_CONTENT_MODEL, ())]
        covered = self.compare(slot, new_schema)
        if _compatible(covered):
            return [*covered, (T.ITEM_ADDED_IS_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL, ())]
        return [*covered, (T.ITEM_ADDED_NOT_COVERED_BY_PARTIALLY_OPEN_CONTENT_MODEL, ())]


def _criterion_change(original: CombinedNode, update: CombinedNode) -> SchemaChangeType | None:
    """How switching between allOf/anyOf/oneOf changes what the schema accepts."""
    if original.criterion is update.criterion:
        return None
    old_single, new_single = len(original.subschemas) == 1, len(update.subschemas) == 1
    widening = (
        update.criterion is Criterion.ANY  # anyOf accepts whatever allOf or oneOf accepted
        or (old_single and new_single)  # one subschema: the criterion makes no difference
        or (old_single and update.criterion is Criterion.ONE)
        or (new_single and original.criterion is Criterion.ALL)
    )
    return T.COMBINED_TYPE_EXTENDED if widening else T.COMBINED_TYPE_CHANGED


def _distinct(subschemas: Iterable[Node]) -> list[Node]:
    """Subschemas without repeats (``allOf: [A, A]`` is ``allOf: [A]``)."""
    seen: dict[str, Node] = {}
    for subschema in subschemas:
        seen.setdefault(subschema.key, subschema)
    return list(seen.values())


def _union(first: Mapping[str, Any], second: Mapping[str, Any]) -> list[str]:
    """Keys of both mappings, in a stable order."""
    return [*first, *(name for name in second if name not in first)]
