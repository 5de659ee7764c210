"""How likely an open order is to breach its SLA, and when it will be accepted and reached.

Two ways, the same answer's shape (``Estimate``):

- **The rule** (``rule``), before there is history, and always as one of the model's features. Time to
  acceptance: an escalated order waits for a person; an order with a caregiver free near it (or an offer out) is
  accepted in about the platform's recent median, plus half an offer's time for each caregiver who said no or let an
  offer lapse; with nobody free but someone soon free, it waits up to the dispatcher's waiting time; with nobody at
  all, never. Arrival: a booked visit's caregiver is at the door when its window opens, another order's after the
  travel from where she is. The further the estimate lies past the SLA time, the likelier the breach (a logistic
  curve over the minutes past it).
- **The model** (``fit``, ``Trained``): scikit-learn's histogram gradient boosting, a classifier of breach or not and
  a regressor of the minutes to acceptance, trained by the nightly job on the snapshots the sweep kept, labelled by
  what then happened. It is stored in the database (``breach_model``) with its training time, sample count and its
  scores on a held-out fifth.
"""

from __future__ import annotations

import io
import math
import pickle
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np

from backend.core.config import Settings
from backend.dispatch.breach_features import FEATURES, OrderFacts

NEVER = math.inf
RULE_SCALE_MINUTES = 4.0  # the logistic's width: 4 minutes past the SLA time is ~73 %


@dataclass(frozen=True)
class Estimate:
    probability: float
    accept_in_minutes: float | None  # None: accepted already, or not by the dispatcher (escalated, nobody near)
    arrive_in_minutes: float | None


def _logistic(x: float) -> float:
    return 1 / (1 + math.exp(-max(-50.0, min(50.0, x))))


def rule_accept_minutes(values: dict[str, float], settings: Settings) -> float:
    """Minutes from now until the dispatcher gets the order accepted, by the rule (``NEVER``: not without a person)."""
    if values["status"] == 2:  # escalated: an operator must act
        return NEVER
    if values["free"] > 0 or values["pending"] > 0:  # someone free, or someone asked: answered in the usual time
        answered = values["declined"] + values["lapsed"]
        return values["history_accept_minutes"] + answered * settings.offer_seconds_normal / 120
    if values["soon_free"] > 0:
        left = settings.dispatch_wait_seconds / 60 - values["waiting_minutes"]
        return max(1.0, left)
    return NEVER


def rule(facts: OrderFacts, settings: Settings) -> Estimate:
    """The transparent estimate, before there is history."""
    v = facts.values
    if facts.sla == "accept":
        accept = rule_accept_minutes(v, settings)
        arrive = max(v["minutes_to_window"], accept + v["travel_minutes"]) if accept != NEVER else NEVER
        past = accept - v["minutes_left"]
    else:  # accepted (or past its time to accept): she sets off now, or to be there when the window opens
        accept = 0.0 if v["status"] >= 3 else rule_accept_minutes(v, settings)
        arrive = max(v["minutes_to_window"], accept + v["travel_minutes"]) if accept != NEVER else NEVER
        past = arrive - v["minutes_left"]
    probability = 0.97 if past == NEVER else _logistic(past / RULE_SCALE_MINUTES)
    return Estimate(
        probability=round(probability, 4),
        accept_in_minutes=None if accept == NEVER or v["status"] >= 3 else accept,
        arrive_in_minutes=None if arrive == NEVER else arrive,
    )


def rows_of(facts: list[OrderFacts], settings: Settings) -> np.ndarray[Any, Any]:
    """The feature matrix, the rule's probability filled in."""
    for f in facts:
        f.values["rule_probability"] = rule(f, settings).probability
    return np.array([f.row() for f in facts], dtype=float).reshape(-1, len(FEATURES))


@dataclass
class Trained:
    """A classifier of breach or not, and a regressor of log minutes to acceptance (when there were enough)."""

    classifier: Any
    accept_regressor: Any | None
    features: list[str]

    def estimate(self, facts: list[OrderFacts], settings: Settings) -> list[Estimate]:
        if not facts:
            return []
        x = rows_of(facts, settings)
        probabilities = self.classifier.predict_proba(x)[:, 1]
        accept = np.expm1(self.accept_regressor.predict(x)) if self.accept_regressor is not None else None
        out = []
        for i, f in enumerate(facts):
            by_rule = rule(f, settings)
            accept_in = by_rule.accept_in_minutes
            if accept is not None and f.sla == "accept" and accept_in is not None:
                accept_in = max(0.0, float(accept[i]))
            out.append(Estimate(round(float(probabilities[i]), 4), accept_in, by_rule.arrive_in_minutes))
        return out

    def dump(self) -> bytes:
        buffer = io.BytesIO()
        pickle.dump(self, buffer, protocol=pickle.HIGHEST_PROTOCOL)
        return buffer.getvalue()


def load(payload: bytes) -> Trained:
    """A stored model (the platform's own table: trusted)."""
    model = pickle.loads(payload)  # written by this platform's nightly job, read from its own database
    if not isinstance(model, Trained) or model.features != FEATURES:
        raise ValueError("the stored breach model was trained on other features")
    return model


def fit(
    x: np.ndarray[Any, Any],
    y: np.ndarray[Any, Any],
    accept_minutes: np.ndarray[Any, Any],
    *,
    orders: np.ndarray[Any, Any] | None = None,
    seed: int = 0,
) -> tuple[Trained, dict[str, Any]]:
    """Train on labelled snapshots (``accept_minutes``: minutes from the snapshot to acceptance, NaN when it was not
    accepted); scored on a held-out fifth of the orders (``orders``: each snapshot's order, so that no order is on
    both sides; precision and recall at 0.5), then refitted on everything."""
    from sklearn.ensemble import HistGradientBoostingClassifier, HistGradientBoostingRegressor
    from sklearn.metrics import precision_score, recall_score, roc_auc_score

    rng = np.random.default_rng(seed)
    held = rng.random(len(y)) < 0.2 if orders is None else (orders.astype(np.int64) * 2_654_435_761) % 1000 < 200

    def classifier() -> Any:
        return HistGradientBoostingClassifier(max_iter=200, learning_rate=0.08, random_state=seed)

    scores: dict[str, Any] = {"held_out": int(held.sum())}
    if held.any() and (~held).any() and len(set(y[~held])) == 2:
        trial = classifier().fit(x[~held], y[~held])
        guess = trial.predict_proba(x[held])[:, 1]
        scores["precision"] = round(float(precision_score(y[held], guess >= 0.5, zero_division=0)), 4)
        scores["recall"] = round(float(recall_score(y[held], guess >= 0.5, zero_division=0)), 4)
        if len(set(y[held])) == 2:
            scores["auc"] = round(float(roc_auc_score(y[held], guess)), 4)
    model = classifier().fit(x, y)
    accepted = ~np.isnan(accept_minutes) & (x[:, FEATURES.index("sla_accept")] == 1)
    regressor = None
    if accepted.sum() >= 30:
        regressor = HistGradientBoostingRegressor(max_iter=150, random_state=seed).fit(
            x[accepted], np.log1p(accept_minutes[accepted])
        )
    return Trained(model, regressor, list(FEATURES)), scores


def predicted_times(now: datetime, estimate: Estimate) -> tuple[datetime | None, datetime | None]:
    """The estimate's acceptance and arrival as times."""
    accept = now + timedelta(minutes=estimate.accept_in_minutes) if estimate.accept_in_minutes is not None else None
    arrive = now + timedelta(minutes=estimate.arrive_in_minutes) if estimate.arrive_in_minutes is not None else None
    return accept, arrive
