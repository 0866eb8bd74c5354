"""Where each projection's rows live in PostgreSQL: the table per contribution of
domain.contributions, with its column list derived from the row's field names (one shape,
named once; tests/integration/test_table_shapes.py compares it with the migrated tables).
"""

from __future__ import annotations

from dataclasses import fields

from domain.contributions import ROWS, columns
from domain.derive import AnomalyRow, ChangeRow

TABLE_OF = {
    "inflow": "inflow_items",
    "decisions": "decision_items",
    "departures": "departure_items",
    "coa_stays": "coa_stays",
    "goo_stays": "goo_stays",
    "cases": "case_items",
    "housing": "housing_items",
    "tasks": "housing_tasks",
    "capacity": "location_capacity",
    "relocations": "relocation_items",
    "screenings": "screening_items",
    "border_procedures": "border_procedure_items",
    "eurodac_hits": "eurodac_hit_items",
    "ammr_requests": "ammr_items",
    "solidarity_relocations": "solidarity_items",
}

# Contribution name -> COPY target "table (column, ...)".
TABLES = {name: f"{TABLE_OF[name]} ({', '.join(columns(name))})" for name in ROWS}

# A person's state changes and anomalies, numbered per person (seq) in the order of the fold.
CHANGES = f"state_changes (person_key, seq, {', '.join(f.name for f in fields(ChangeRow))})"
ANOMALIES = f"anomalies (person_key, seq, {', '.join(f.name for f in fields(AnomalyRow))})"
