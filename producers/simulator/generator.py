"""The simulator's entry point: builds the whole chain for a period (warm-up included), adds
the feed noise, and hands out the deliveries as (Org, Submission) pairs plus the ground truth.
Pure: `random.Random(seed)` only, no clock, no I/O.
"""

from __future__ import annotations

import hashlib
import random
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from producers.pseudonym import person_key
from producers.simulator import calendar as cal
from producers.simulator import noise as noise_module
from producers.simulator.facts import Fact, Recorder
from producers.simulator.legal_aid import LegalAid
from producers.simulator.municipal import Municipal
from producers.simulator.params import SimParams
from producers.simulator.population import People, WeightedChoice, municipalities
from producers.simulator.process import Chain
from producers.simulator.reception import Reception, add_relocations
from producers.simulator.truth import ground_truth
from producers.submission import Submission
from schemas.topics import Org

# Only for sponsor keys when no chain key is given (tests, files for a demo machine).
DEMO_CHAIN_KEY = b"ketenlog-simulator-demo-chain-key-not-secret"

Progress = Callable[[str], None]


@dataclass
class Simulation:
    params: SimParams
    facts: list[Fact]
    """Every fact sent at least once (wrong versions and retractions included)."""
    effective: list[Fact]
    deliveries: list[tuple[int, int, Fact]]
    malformed: list[noise_module.Malformed]
    truth: dict[str, Any]
    stats: dict[str, Any]

    def submissions(self, only: set[str] | None = None) -> Iterator[tuple[Org, Submission]]:
        """Every delivery in delivery order (of the organisations `only` names, if given); a
        re-send yields an equal Submission again."""
        epoch = datetime(1970, 1, 1, tzinfo=UTC)
        orgs = {o.value: o for o in Org}
        for _, _, f in self.deliveries:
            if only is None or f.org in only:
                yield orgs[f.org], to_submission(f, epoch)

    def manifest(self) -> dict[str, Any]:
        params = asdict(self.params)
        return {
            "seed": self.params.seed,
            "parameters": _jsonable(params),
            "counts": self.stats,
        }


def to_submission(f: Fact, epoch: datetime) -> Submission:
    """A Submission from already-valid values, without re-validating (hot path)."""
    is_person = f.person is not None
    return Submission.model_construct(
        type=f.type,
        occurred_at=epoch + timedelta(seconds=f.occ),
        v_nummer=f.subject if is_person else None,
        person_key=None,
        recorded_at=epoch + timedelta(seconds=f.rec),
        ref=f.ref,
        case_id=f.case_id,
        corrects=f.corrects,
        retracts=f.retracts,
        sensitivity=f.sensitivity,
        correlation_id=None,
        causation_id=None,
        data=f.data,
    )


def _jsonable(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(v) for v in value]
    if hasattr(value, "isoformat"):
        return value.isoformat()
    return value


def run_tag(params: SimParams, chain_key: bytes | None) -> str:
    """Eight hex digits that name this simulation: same parameters and chain key, same tag."""
    return hashlib.sha256(repr(params).encode() + (chain_key or b"")).hexdigest()[:8]


def simulate(
    params: SimParams,
    chain_key: bytes | None = None,
    progress: Progress | None = None,
) -> Simulation:
    """Simulate the chain for params.start..params.end (plus the warm-up before it).

    `chain_key` pseudonymises the one field that must carry a person key (the nareis sponsor);
    use the chain's key when the output is going to be published."""
    say = progress or (lambda _: None)
    key = chain_key or DEMO_CHAIN_KEY
    seeds = random.Random(params.seed)
    rng_people, rng_chain, rng_coa, rng_muni, rng_noise, rng_bad = (
        random.Random(seeds.getrandbits(64)) for _ in range(6)
    )
    rng_legal = random.Random(seeds.getrandbits(64))  # drawn last: the others stay as they were
    horizon = cal.ts_of(params.end + timedelta(days=1))
    tag = run_tag(params, chain_key)
    out = Recorder(horizon, tag)
    people = People(rng_people)
    munis = municipalities()
    municipal = Municipal(params, rng_muni, out, munis, 0)
    chain = Chain(
        params,
        rng_chain,
        out,
        people=people,
        link_municipality=municipal.link_municipality,
        sponsor_key=lambda v: person_key(v, key),
        legal_aid=LegalAid(rng_legal, out, params.legal_aid_missing_share),
    )
    municipal.history_start = chain.history
    say("housing tasks")
    municipal.housing_tasks()
    say("asylum process")
    chain.run()
    say("reception")
    for unit in chain.units:
        add_relocations(rng_coa, unit, params.emergency_share)
    reception = Reception(
        rng_coa,
        out,
        WeightedChoice([m.code for m in munis], [m.population_k for m in munis]),
        params.scale,
        chain.history,
        tag=tag,
    )
    reception.run(chain.units)
    say("municipal shelter")
    municipal.ukrainians(people)
    locations: dict[str, list[str]] = {}
    for kind, locs in reception.by_kind.items():
        locations[kind] = [loc.id for loc in locs]
    say("feed noise")
    noisy = noise_module.apply(out.facts, params.noise, rng_noise, locations, horizon)
    effective = [
        f for f in noisy.facts if id(f) not in noisy.superseded and f.type != "EventRetracted"
    ]
    say("ground truth")
    truth = ground_truth(effective, params.start, params.end)
    per_org = Counter(f.org for _, _, f in noisy.deliveries)
    bad = noise_module.malformed(rng_bad, params.noise.malformed_share, dict(per_org))
    stats = {
        "persons": len(people.all),
        "facts": len(out.facts),
        "deliveries": len(noisy.deliveries),
        "deliveries_per_org": {k: per_org[k] for k in sorted(per_org)},
        "effective_facts": len(effective),
        "corrections": sum(1 for f in noisy.facts if f.corrects),
        "retractions": sum(1 for f in noisy.facts if f.retracts),
        "resends": len(noisy.deliveries) - len(noisy.facts),
        "malformed": len(bad),
        "warmup_ind_capacity_per_week": round(chain.warmup_capacity, 1),
        "approval_logit_shift": round(chain.shift, 4),
        "history_start": cal.iso_date(chain.history),
    }
    return Simulation(params, noisy.facts, effective, noisy.deliveries, bad, truth, stats)
