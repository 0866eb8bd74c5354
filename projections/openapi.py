"""`/v1/openapi.json`, built from the declarations the server validates and answers with: the
parameters of projections.api_spec and the models of projections.api_models. Pure.
"""

from __future__ import annotations

from functools import cache
from typing import Any

from pydantic import BaseModel
from pydantic.json_schema import JsonSchemaMode, models_json_schema

from projections import api_models
from projections.api_spec import HOUSING, MOMENT_SCHEMA, RESOURCES, parameters
from projections.queries import CATALOGUE

API_VERSION = "1.0.0"
REF = "#/components/schemas/{model}"
VERSION_HEADER = {
    "API-Version": {
        "description": "the API's version",
        "required": True,
        "schema": {"type": "string", "example": API_VERSION},
    }
}
DATA_UNTIL_HEADER = "Gegevens-Tot-En-Met"
FIGURES_HEADERS = {
    **VERSION_HEADER,
    DATA_UNTIL_HEADER: {
        "description": "the last day the log holds data for; absent while it is empty",
        "required": False,
        "schema": {"type": "string", "format": "date"},
    },
}
PROBLEM_CONTENT = {"application/problem+json": {"schema": {"$ref": REF.format(model="Probleem")}}}


def _problem(description: str) -> dict[str, Any]:
    return {"description": description, "headers": VERSION_HEADER, "content": PROBLEM_CONTENT}


# Every operation that needs a token (projections.api_auth): the roles it admits.
UNAUTHORISED = {
    "description": "no bearer token, or one that is not valid (unknown or rotated)",
    "headers": {
        **VERSION_HEADER,
        "WWW-Authenticate": {
            "description": "the Bearer challenge",
            "required": True,
            "schema": {"type": "string"},
        },
    },
    "content": PROBLEM_CONTENT,
}
SECURITY: list[dict[str, list[str]]] = [{"bearer": []}]


def _guarded(roles: str) -> dict[str, Any]:
    return {
        "401": UNAUTHORISED,
        "403": _problem(f"a valid token whose role may not use this operation (it needs {roles})"),
    }


# Every operation that reads the database may meet it down or restarting.
UNAVAILABLE = {
    "description": "the database is unavailable (down or restarting); ask again after "
    "Retry-After seconds — the server reconnects by itself",
    "headers": {
        **VERSION_HEADER,
        "Retry-After": {
            "description": "seconds to wait before asking again",
            "required": True,
            "schema": {"type": "integer", "minimum": 1},
        },
    },
    "content": PROBLEM_CONTENT,
}


def _description(projection: str) -> str:
    if projection == HOUSING:
        return (
            "the task is a public target and published as it is; linked, housed and backlog "
            "count persons and pass disclosure control"
        )
    p = CATALOGUE[projection]
    return (
        "dimensions: "
        + (", ".join(p.dimensions) or "none")
        + "; each count carries a small noise fixed by the records it counts (the cell key "
        "method), then counts below the disclosure minimum (zero included) are null and the "
        "rest rounded; a row whose counts are all null is left out"
        + "".join(
            f"; {c} is null over fewer items than the statistic minimum, else in whole units"
            for c in p.statistics
        )
        + "".join(f"; {c} is published as it is" for c in p.public)
        + "".join(
            f"; {r.name} is computed from the published {r.numerator} and "
            f"{r.denominator} (null where one is null or the second is 0)"
            for r in p.ratios
        )
    )


def _summary(projection: str) -> str:
    if projection == HOUSING:
        return "housing of status holders per municipality and task period"
    return CATALOGUE[projection].description


def _figures(resource: str, answer: Any) -> dict[str, Any]:
    projection = RESOURCES[resource]
    return {
        "get": {
            "operationId": resource,
            "summary": _summary(projection),
            "security": SECURITY,
            "description": _description(projection),
            "parameters": [
                {
                    "name": p.name,
                    "in": "query",
                    "required": False,
                    "description": p.description,
                    "schema": p.schema,
                    "style": "form",
                    "explode": p.explode,
                }
                for p in parameters(projection)
            ],
            "responses": {
                "200": {
                    "description": "the figures, as JSON or as CSV (the same columns)",
                    "headers": FIGURES_HEADERS,
                    "content": {
                        "application/json": {"schema": answer},
                        "text/csv": {"schema": {"type": "string"}},
                    },
                },
                "400": _problem("one or more parameters are invalid, each named"),
                **_guarded("analyst, auditor or admin"),
                "503": UNAVAILABLE,
            },
        }
    }


def _audit() -> dict[str, Any]:
    return {
        "post": {
            "operationId": "audit-tijdlijn",
            "summary": "auditors: one person's events from every organisation in valid-time "
            "order, as recorded and as corrected, with the states passed through and the "
            "anomalies. Requires a declared purpose (doel); the read is recorded in the read "
            "log (GET /v1/audit/inzages) before it is answered, under the trace of the "
            "request's traceparent header if it sends one",
            "security": SECURITY,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": {"$ref": REF.format(model="TijdlijnVerzoek")}}
                },
            },
            "responses": {
                "200": {
                    "description": "the person's timeline",
                    "headers": {
                        **VERSION_HEADER,
                        "traceparent": {
                            "description": "W3C trace context of this read, as the read log "
                            "records it",
                            "required": True,
                            "schema": {"type": "string"},
                        },
                    },
                    "content": {
                        "application/json": {"schema": {"$ref": REF.format(model="Tijdlijn")}}
                    },
                },
                "400": _problem("the request body is invalid (each field named)"),
                **_guarded("auditor or admin"),
                "404": _problem("no events recorded for this person (the read is recorded)"),
                "500": _problem("the read could not be recorded in the read log: not answered"),
                "503": UNAVAILABLE,
            },
        }
    }


def _reads() -> dict[str, Any]:
    return {
        "get": {
            "operationId": "audit-inzages",
            "summary": "auditors: the read log (Logboek Dataverwerkingen) — every read of "
            "person-level data: trace and span, operation, when, who (role and token id, or "
            "the OS user of the command line), which person, the declared purpose and legal "
            "basis, the result; oldest first",
            "security": SECURITY,
            "parameters": [
                {
                    "name": "van",
                    "in": "query",
                    "required": False,
                    "description": "reads started at or after this moment",
                    "schema": MOMENT_SCHEMA,
                },
                {
                    "name": "traceId",
                    "in": "query",
                    "required": False,
                    "description": "the reads of one trace",
                    "schema": {"type": "string", "pattern": "^[0-9a-f]{32}$"},
                },
            ],
            "responses": {
                "200": {
                    "description": "the recorded reads",
                    "headers": VERSION_HEADER,
                    "content": {
                        "application/json": {"schema": {"$ref": REF.format(model="Inzages")}}
                    },
                },
                "400": _problem("a parameter is invalid, each named"),
                **_guarded("auditor or admin"),
                "503": UNAVAILABLE,
            },
        }
    }


def _retry_later(description: str) -> dict[str, Any]:
    return {**UNAVAILABLE, "description": description}


def _ingest() -> dict[str, Any]:
    event = {
        "type": "object",
        "description": "a CloudEvent (specversion 1.0) in structured mode: id, source (the "
        "caller's own, <oin prefix>:systeem:<org>), type (the event type's CloudEvents type), "
        "time, and data: one line of docs/publish-format.md",
        "required": ["specversion", "id", "source", "type", "data"],
    }
    return {
        "post": {
            "operationId": "gebeurtenissen-publiceren",
            "summary": "agencies: publish CloudEvents on the organisation's own topic (NL GOV "
            "profile for CloudEvents, JSON/HTTP binding) — each event checked as `ketenlog "
            "publish` checks a line, signed and sealed, answered once the broker acknowledged "
            "every accepted event; the same event sent again gets the same event id",
            "security": SECURITY,
            "parameters": [
                {
                    "name": "gedeeltelijk",
                    "in": "query",
                    "required": False,
                    "description": "true: publish the valid events and list the refused ones; "
                    "default false: any invalid event refuses the whole request",
                    "schema": {"type": "string", "enum": ["true", "false"]},
                }
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/cloudevents+json": {"schema": event},
                    "application/cloudevents-batch+json": {
                        "schema": {"type": "array", "items": event, "minItems": 1}
                    },
                },
            },
            "responses": {
                "201": {
                    "description": "published: each accepted event's id and place",
                    "headers": VERSION_HEADER,
                    "content": {
                        "application/json": {"schema": {"$ref": REF.format(model="Publicatie")}}
                    },
                },
                "400": _problem(
                    "an event is invalid: each event and field named; nothing published"
                ),
                **_guarded("an organisation's own token"),
                "413": _problem("the body is larger than the server takes"),
                "415": _problem("not application/cloudevents(-batch)+json"),
                "429": _retry_later("the organisation sends more requests than allowed"),
                "503": _retry_later(
                    "the broker did not acknowledge every event, or the "
                    "server publishes nothing; sending the same request again is safe"
                ),
            },
        }
    }


def _webhook() -> dict[str, Any]:
    def header(name: str, description: str) -> dict[str, Any]:
        return {
            "name": name,
            "in": "header",
            "required": True,
            "description": description,
            "schema": {"type": "string"},
        }

    return {
        "post": {
            "operationId": "inbox-afleveren",
            "summary": "what an organisation's registered endpoint receives (`ketenlog webhooks "
            "register ORG URL`): its inbox's events as CloudEvents, at least once, in order per "
            "subject, signed per Standard Webhooks with the endpoint's secret",
            "parameters": [
                header("webhook-id", "the request's id; the same over its retries"),
                header("webhook-timestamp", "Unix seconds; refuse one more than 300 s off"),
                header(
                    "webhook-signature",
                    "v1,<base64 HMAC-SHA256 of id.timestamp.body with the secret's key>",
                ),
            ],
            "requestBody": {
                "required": True,
                "content": {
                    "application/cloudevents-batch+json": {
                        "schema": {
                            "type": "array",
                            "minItems": 1,
                            "items": {"$ref": REF.format(model="WebhookGebeurtenis")},
                        }
                    }
                },
            },
            "responses": {
                "2XX": {"description": "received: the sender moves on"},
                "default": {
                    "description": "not received (also no answer within the timeout): tried "
                    "again with backoff; after the last try parked in the dead letter"
                },
            },
        }
    }


def _health() -> dict[str, Any]:
    answer = {"application/json": {"schema": {"$ref": REF.format(model="Gezondheid")}}}
    return {
        "get": {
            "operationId": "gezondheid",
            "summary": "operators: the processing's health for monitoring to poll — each "
            "service, each worker group's lag, last commit and last fault, and whether a "
            "watched group has stalled (`ketenlog status` as JSON)",
            "description": "200 with status pass, or 503 with status fail and every reason "
            "in problems: the same body, so a monitor may go by the status code alone. A "
            "group stalls when work is waiting and it has committed nothing for "
            "stall_after_seconds. Each request checks Kafka and PostgreSQL anew (one at a "
            "time); figures need no health check.",
            "parameters": [
                {
                    "name": "groep",
                    "in": "query",
                    "required": False,
                    "description": "a worker group to watch (repeatable); by default "
                    "ketenlog-process, the processor's default group",
                    "schema": {
                        "type": "array",
                        "items": {"type": "string", "pattern": api_models.GROUP_PATTERN},
                    },
                    "style": "form",
                    "explode": True,
                }
            ],
            "responses": {
                "200": {
                    "description": "healthy: status pass",
                    "headers": VERSION_HEADER,
                    "content": answer,
                },
                "400": _problem("a parameter is invalid, each named"),
                "503": {
                    "description": "not healthy: status fail, every reason in problems (a "
                    "service down, a topic amiss, a watched group stalled)",
                    "headers": VERSION_HEADER,
                    "content": answer,
                },
            },
        }
    }


@cache
def document() -> dict[str, Any]:
    models: list[tuple[type[BaseModel], JsonSchemaMode]] = [
        (api_models.answer_model(resource), "serialization") for resource in RESOURCES
    ]
    models += [
        (api_models.TijdlijnVerzoek, "validation"),
        (api_models.Tijdlijn, "serialization"),
        (api_models.Inzages, "serialization"),
        (api_models.Gezondheid, "serialization"),
        (api_models.Probleem, "serialization"),
        (api_models.Publicatie, "serialization"),
        (api_models.WebhookGebeurtenis, "serialization"),
    ]
    keys, schemas = models_json_schema(models, ref_template=REF)
    paths: dict[str, Any] = {
        f"/{resource}": _figures(resource, keys[(api_models.answer_model(resource), mode)])
        for resource, (_, mode) in zip(RESOURCES, models, strict=False)
    }
    paths["/audit/tijdlijn"] = _audit()
    paths["/audit/inzages"] = _reads()
    paths["/gezondheid"] = _health()
    paths["/gebeurtenissen"] = _ingest()
    return {
        "openapi": "3.1.0",
        "info": {"title": "ketenlog — cijfers van de migratieketen", "version": API_VERSION},
        "servers": [{"url": "/v1"}],
        "paths": paths,
        "webhooks": {"inbox": _webhook()},
        "components": {
            "schemas": schemas.get("$defs", {}),
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "a token from `ketenlog tokens ROLE_OR_ORG`; never in the URL",
                }
            },
        },
    }
