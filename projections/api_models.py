"""The bodies of the analysts' API as pydantic models: a row model per resource, built from the
projection catalogue (the columns projections.queries returns, after disclosure control), the
auditor's timeline request (validated with it) and answer, the health an operator's monitoring
polls, and the problem details.
projections.openapi turns these same models into the document's schemas.
"""

from __future__ import annotations

from datetime import date, datetime
from functools import cache
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator

from projections.api_spec import HOUSING, MOMENT_SCHEMA, RESOURCES, parse_moment
from projections.queries import CATALOGUE

# Dimensions that are not text.
DIMENSION_TYPES: dict[str, type] = {
    "unaccompanied_minor": bool,
    "demonstrable": bool,
    "pledge_year": int,
}
# The last day the log holds data for, beside the results (and in a header, projections.openapi).
DATA_UNTIL_FIELD = "gegevensTotEnMet"
PERSON_KEY_PATTERN = r"^[0-9a-f]{32,128}$"
CLOSED = ConfigDict(extra="forbid")
# A declared purpose or legal basis: printable text, no control characters.
DECLARED_TEXT = r"^[^\x00-\x1f\x7f]+$"


def _no_default(schema: dict[str, Any]) -> None:
    """An optional field that is absent when not given, never null."""
    schema.pop("default", None)


def _title(resource: str) -> str:
    return "".join(part.capitalize() for part in resource.split("-"))


@cache
def row_model(resource: str) -> type[BaseModel]:
    """One row of `resource`: the period, the dimensions asked for (absent otherwise), then
    the figures; a count is null where disclosure control suppressed it."""
    projection = RESOURCES[resource]
    fields: dict[str, Any] = {}
    if projection == HOUSING:
        fields = {
            "municipality_code": (str, ...),
            "task_period": (str, Field(pattern=r"^[0-9]{4}-(I|II)$")),
            "task": (int, Field(description="the municipality's task: a target, as it is")),
            **{
                c: (int | None, Field(description="persons; null where suppressed"))
                for c in ("linked", "housed", "backlog")
            },
        }
    else:
        p = CATALOGUE[projection]
        fields["period"] = (date, Field(description="the first day of the period"))
        for d in p.dimensions:
            fields[d] = (
                DIMENSION_TYPES.get(d, str),
                Field(default=None, description="when asked", json_schema_extra=_no_default),
            )
        for c in (p.measure, *p.counts):
            fields[c] = (int | None, Field(description="a count; null where suppressed"))
        for c in p.public:
            fields[c] = (int, Field(description="counts no persons: published as it is"))
        for c in p.statistics:
            fields[c] = (
                float | None,
                Field(description="null over too few items; else in whole days or hours"),
            )
        for r in p.ratios:
            fields[r.name] = (
                float | None,
                Field(description=f"from the published {r.numerator} and {r.denominator}"),
            )
    return create_model(f"{_title(resource)}Rij", __config__=CLOSED, **fields)


@cache
def answer_model(resource: str) -> type[BaseModel]:
    rows: Any = list[row_model(resource)]  # type: ignore[misc]
    until = Field(
        alias=DATA_UNTIL_FIELD,
        description="the last day the log holds data for (null while it is empty); no row is "
        "about a later day",
    )
    return create_model(
        f"{_title(resource)}Antwoord",
        __config__=CLOSED,
        data_until=(date | None, until),
        resultaten=(rows, ...),
    )


def _moment_schema(schema: dict[str, Any]) -> None:
    schema.pop("default", None)
    schema.pop("type", None)
    schema["anyOf"] = MOMENT_SCHEMA["anyOf"]


class TijdlijnVerzoek(BaseModel):
    """The auditor's question: the person key travels in the body, never in the URI."""

    model_config = CLOSED
    persoon: str = Field(pattern=PERSON_KEY_PATTERN, description="the pseudonymous person key")
    bekendOp: str | None = Field(  # noqa: N815 (the API's camelCase field)
        default=None,
        description="the timeline as the chain knew it at this system time",
        json_schema_extra=_moment_schema,
    )
    doel: str = Field(
        min_length=3,
        max_length=200,
        pattern=DECLARED_TEXT,
        description="the purpose of this read (verwerkingsactiviteit): required, recorded in "
        "the read log with the read",
    )
    grondslag: str | None = Field(
        default=None,
        min_length=3,
        max_length=200,
        pattern=DECLARED_TEXT,
        description="the legal basis of this read (grondslag), recorded with it",
        json_schema_extra=_no_default,
    )

    @field_validator("bekendOp", mode="before")
    @classmethod
    def _moment(cls, value: Any) -> Any:
        """Absent means now; given, it is a moment (null is not one)."""
        if not isinstance(value, str):
            raise ValueError("a moment as text")
        parse_moment(value)
        return value


class Bron(BaseModel):
    model_config = CLOSED
    topic: str
    partition: int
    offset: int


class Gebeurtenis(BaseModel):
    model_config = CLOSED
    event_id: str
    type: str
    producer: str
    case_id: str | None
    occurred_at: str
    recorded_at: str
    status: str = Field(description="as recorded, corrects/corrected by, retracts/retracted by")
    changed_state: bool
    source: Bron
    data: dict[str, Any]
    erased: list[str] = Field(
        description="personal fields an erasure (`ketenlog erase`) destroyed: null in data"
    )


class Toestandswijziging(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)
    event_id: str
    occurred_at: str
    lifecycle: str
    subject: str
    from_: str | None = Field(alias="from")
    to: str


class Afwijking(BaseModel):
    model_config = CLOSED
    kind: str
    event_id: str | None
    occurred_at: str | None
    case_id: str | None
    detail: str | None


class Tijdlijn(BaseModel):
    model_config = CLOSED
    person_key: str
    events: list[Gebeurtenis]
    states: list[Toestandswijziging]
    anomalies: list[Afwijking]


# A worker group's name as `ketenlog process --group` takes it (the health resource's `groep`).
GROUP_PATTERN = r"^[A-Za-z0-9._-]{1,128}$"
GroupState = Literal["idle", "working", "stalled", "stopped"]


class Dienst(BaseModel):
    """A service the chain runs on, as `ketenlog status` checks it."""

    model_config = CLOSED
    name: str = Field(description="kafka or postgres")
    up: bool


class Werkgroep(BaseModel):
    """A worker group of the timeline processor: what it has stored against the log's end."""

    model_config = CLOSED
    group: str
    watched: bool = Field(description="a stall of this group fails the health check")
    state: GroupState = Field(
        description="idle: nothing waiting; working: committed within the stall limit; "
        "stalled: a watched group with work waiting that has committed nothing for the stall "
        "limit (or ever); stopped: the same for a group that is not watched"
    )
    lag: int = Field(ge=0, description="records on the organisation topics not yet stored")
    last_commit: datetime | None = Field(description="when it last stored a batch; null: never")
    last_fault_at: datetime | None = Field(description="the last fault a worker rode out")
    last_fault_kind: str | None = Field(
        description="that fault's kind (its exception's name); the text, which may quote "
        "data, only in `ketenlog status`"
    )


class Gezondheid(BaseModel):
    """The processing's health (`ketenlog status` as JSON): `pass` (HTTP 200) when every
    service is up, every topic as the catalogue says and no watched group stalled; otherwise
    `fail` (HTTP 503) with each reason in `problems`."""

    model_config = CLOSED
    status: Literal["pass", "fail"]
    checked_at: datetime
    stall_after_seconds: int = Field(description="the stall limit")
    services: list[Dienst]
    groups: list[Werkgroep]
    problems: list[str]


class OngeldigeParameter(BaseModel):
    model_config = CLOSED
    name: str
    reason: str


class Probleem(BaseModel):
    """RFC 9457 problem details; `invalidParams` names every invalid parameter."""

    model_config = CLOSED
    type: Literal["about:blank"]
    title: str
    status: int
    detail: str
    instance: str
    invalidParams: list[OngeldigeParameter] | None = None  # noqa: N815


class Inzage(BaseModel):
    """One recorded read of person-level data (Logboek Dataverwerkingen)."""

    model_config = CLOSED
    trace_id: str = Field(pattern=r"^[0-9a-f]{32}$")
    span_id: str = Field(pattern=r"^[0-9a-f]{16}$")
    operation: str
    started_at: datetime
    ended_at: datetime
    subject_role: str = Field(description="the reader's role (or cli: the command line)")
    subject_id: str = Field(description="the reader's token id (or the OS user)")
    person_key: str
    purpose: str = Field(description="the declared verwerkingsactiviteit")
    legal_basis: str | None = Field(description="the declared grondslag, if given")
    result: str


class Inzages(BaseModel):
    """The read log, oldest first."""

    model_config = CLOSED
    resultaten: list[Inzage]


class Gepubliceerd(BaseModel):
    """An event the broker acknowledged: where it is stored, and its event id (the same for
    the same CloudEvent sent again)."""

    model_config = CLOSED
    index: int
    id: str | None
    eventId: str  # noqa: N815
    topic: str
    partitie: int
    offset: int


class Geweigerd(BaseModel):
    """An event refused (only with `gedeeltelijk=true`; else the whole request is refused)."""

    model_config = CLOSED
    index: int
    id: str | None
    problemen: list[OngeldigeParameter]


class WebhookGebeurtenis(BaseModel):
    """One event of a webhook delivery (`ketenlog webhooks`, docs/subscriptions.md): a
    CloudEvent in structured JSON, with the agency's own attributes, why the organisation
    received it, and what it needs to check the agency's signature."""

    model_config = CLOSED
    specversion: Literal["1.0"]
    id: str = Field(description="the event id: the key to de-duplicate on (at least once)")
    source: str = Field(description="the publishing agency: <oin prefix>:systeem:<org>")
    type: str = Field(description="the event type's CloudEvents type, e.g. nl.vreemdelingen.…")
    time: datetime = Field(description="when the agency recorded it (RFC 3339)")
    subject: str = Field(description="the pseudonymous person key: the order holds per subject")
    datacontenttype: Literal["application/json"]
    dataschema: str | None = None
    sequence: str | None = Field(None, description="the agency's own sequence number")
    ketenlogrule: str = Field(description="the subscription rule that entitled it")
    ketenlogpolicy: str = Field(description="the policy's label, v<version>+<digest>")
    ketenlogrecipient: str = Field(description="COA, … or GEMEENTE:GM0344")
    ketenlogduewith: str = Field(description="the event that made it due (a link, for one)")
    ketenlogtopic: str = Field(description="the agency's topic, which its signature covers")
    ketenlogavro: str = Field(description="base64: the record's Avro bytes as signed")
    ketenloglink: str | None = Field(None, description="base64: the record's hash-chain link")
    ketenlogsignature: str | None = Field(
        None,
        description="base64: the agency's Ed25519 signature header (key id, '.', signature; or "
        "key id, ':', the chunk's signature, index, size and Merkle audit path: docs/audit.md)",
    )
    data: dict[str, Any] = Field(
        description="the record as JSON: envelope and payload; personal fields stay sealed"
    )


class Publicatie(BaseModel):
    """The answer to `POST /gebeurtenissen`: what was published, and what was refused."""

    model_config = CLOSED
    gebeurtenissen: list[Gepubliceerd]
    geweigerd: list[Geweigerd]
