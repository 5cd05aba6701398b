"""The Report: what a diagnosis says, as data. Renderers and interfaces only read it."""

from __future__ import annotations

from typing import Any, Literal, Self, SupportsIndex, TypeVar

from pydantic import BaseModel, ConfigDict, Field

SCHEMA_VERSION = "1.0"

# The kinds of facts of Report.facts that the diagram (diagnose.render.mermaid) draws: a
# diagnosis with its trace keeps every derivation that leads to one of them.
DIAGRAM_KINDS = frozenset(
    {"adapter", "attach", "container", "dnet", "hop", "host", "lan", "netns", "symptom", "vm"}
    | {"vm_network", "vnic"}
)

Status = Literal["reachable", "blocked", "unknown"]
HopStatus = Literal["pass", "blocked", "unknown"]


_setattr = object.__setattr__  # past pydantic's own __setattr__, as its __setstate__ does


def _model(cls: type[M], values: dict[str, Any], fields_set: set[str]) -> M:
    """A model of these values (every field, in order) and fields set, as pydantic's
    model_construct makes one: back from a pickle (see Out.__reduce_ex__), or trusted."""
    model: M = object.__new__(cls)
    _setattr(model, "__dict__", values)
    _setattr(model, "__pydantic_fields_set__", fields_set)
    _setattr(model, "__pydantic_extra__", None)
    _setattr(model, "__pydantic_private__", None)
    return model


M = TypeVar("M", bound="Out")


def trusted(cls: type[M], values: dict[str, Any], given: frozenset[str]) -> M:
    """The model `cls(**{k: values[k] for k in given})` makes, built without validating:
    `values` holds every field of the model, in order (those not given at their defaults),
    each already of its field's type, as it is to be kept (nothing is checked or copied).
    For the models a diagnosis fills from the validated catalogue: validating them again
    cost 1.6 to 2.3 times as much as building them (tests/test_report.py checks the two)."""
    return _model(cls, values, set(given))


class Out(BaseModel):
    model_config = ConfigDict(extra="forbid")

    def changed(self, **changes: Any) -> Self:
        """model_copy(update=changes) (no value validated or copied), for the cost of building
        one model: pydantic's copies the model, then updates it."""
        if self.__pydantic_extra__ is not None or self.__pydantic_private__ is not None:
            return self.model_copy(update=changes)  # not so in these models
        fields_set = self.__pydantic_fields_set__ | changes.keys()
        return _model(type(self), {**self.__dict__, **changes}, fields_set)

    def __reduce_ex__(self, protocol: SupportsIndex) -> str | tuple[Any, ...]:
        # A batch's workers pickle every result's findings and report to the parent:
        # pydantic's __getstate__ and __setstate__ (a state dict, then a call to restore it)
        # cost more on both sides than one call that builds the model back.
        if self.__pydantic_extra__ is not None or self.__pydantic_private__ is not None:
            return super().__reduce_ex__(protocol)  # not so in these models: pydantic's way
        return _model, (type(self), self.__dict__, self.__pydantic_fields_set__)


class FixOut(Out):
    """A remedy, with the exact command or config line and what applying it changes."""

    text: str
    command: str | None = None
    config: str | None = None
    persistent: bool
    risky: bool


class Location(Out):
    """Where in an input file something stands."""

    file: str
    line: int | None = None
    column: int | None = None


class Finding(Out):
    """Something wrong or risky in the setup, from one rule firing."""

    rule: str
    name: str
    severity: Literal["error", "warning", "info"]
    title: str
    explanation: str
    fixes: list[FixOut]
    claims: list[str]
    at: dict[str, Any] | None = Field(None, description="the device (and symptom) it breaks")
    facts: list[str] = Field(description="ids of the facts the rule matched")
    source: str | None = Field(
        None, description="the setup entry it is about, e.g. docker.containers[0].ports[1]"
    )
    location: Location | None = Field(None, description="that entry's place in the input")


class Question(Out):
    """A question whose answer settles something unknown; `why` is MYCIN's WHY."""

    id: str
    text: str
    fills: str
    choices: list[str] = Field(description="the values an answer may take")
    labels: list[str] = Field(description="each choice in the report's language")
    why: str
    settles: list[str] = Field(description="the rules (candidate causes) the answer decides")
    rule: str
    assumed: bool = Field(description="the hop passes on a default meanwhile")


class Hop(Out):
    """One device a path crosses."""

    seq: int
    device: str
    label: str
    status: HopStatus
    rule: str = Field(description="the rule that blocks it, or the route rule that laid it")
    claims: list[str]
    questions: list[str] = Field(default_factory=list)
    assumptions: list[str] = Field(default_factory=list)
    reached: bool = Field(True, description="false after the hop where the path breaks")


class Cause(Out):
    """A candidate cause of a verdict, ranked; `certain` when it blocks a hop of the path."""

    rule: str
    title: str
    severity: str | None
    certain: bool
    hop: int | None
    claims: list[str]
    fixes: list[FixOut]


class Verdict(Out):
    """The answer to one symptom: reachable, blocked or unknown, with the path that says so."""

    symptom: str
    question: str = Field(description="the symptom restated")
    status: Status
    summary: str
    route: str | None = Field(None, description="rule that laid the path")
    path: list[Hop]
    broken_at: int | None = None
    causes: list[Cause]
    questions: list[Question]
    alternatives: list[list[Hop]] = Field(default_factory=list)


class TraceEntry(Out):
    """One rule firing: the "how" of every conclusion."""

    rule: str
    matched: dict[str, str] = Field(description="pattern alias -> fact id")
    produced: list[str]


class Report(Out):
    """A whole diagnosis."""

    schema_version: str = SCHEMA_VERSION
    lang: str = Field("en", description="the language of the texts")
    source: str | None = None
    verdicts: list[Verdict]
    findings: list[Finding]
    questions: list[Question]
    trace: list[TraceEntry]
    facts: dict[str, dict[str, Any]]
