"""Protected attributes: which features may never be a stated reason, and how much weight they carry.

A model version declares its protected features at registration (DESIGN §8). The
policy's ``protected_features`` is a default, matched case-insensitively against
each feature's name and label ("Age", "age", "AGE (years)" -> ``age``). A feature
whose name or label says it is an obvious protected attribute (ECOA / Regulation
B prohibited bases and the usual proxies: age, sex, gender, marital status, race,
colour, religion, national origin, citizenship, disability, pregnancy) must be
declared one way or the other; ``looks_protected`` finds them. It is a word list,
not a judgement: it cannot see a proxy with an innocent name, so the declaration
is the owner's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping

from xai_gov.registry.schema import Feature, FeatureSchema

#: Words (whole tokens of a name or label) that name a protected attribute.
PROTECTED_WORDS = frozenset({
    "age", "aged", "birth", "birthdate", "dob", "sex", "gender", "marital", "married", "spouse", "race", "racial",
    "ethnic", "ethnicity", "colour", "color", "religion", "religious", "nationality", "citizenship", "citizen",
    "foreign", "immigrant", "disability", "disabled", "pregnancy", "pregnant",
})
#: Two-word phrases that name one.
PROTECTED_PHRASES = (("national", "origin"), ("personal", "status"), ("country", "of", "birth"))


def tokens(text: str) -> list[str]:
    """Lower-case words of a name or label: camelCase, snake_case and punctuation split."""
    spaced = re.sub(r"([a-z0-9])([A-Z])", r"\1 \2", text)
    return [t for t in re.split(r"[^a-z0-9]+", spaced.lower()) if t]


def normalise(text: str) -> str:
    return "_".join(tokens(text))


def matches_policy(feature: Feature, policy_names: Iterable[str]) -> bool:
    """The policy's default list, case-insensitive, against the feature's name and its label."""
    wanted = {normalise(n) for n in policy_names}
    return normalise(feature.name) in wanted or normalise(feature.label) in wanted


def looks_protected(feature: Feature) -> bool:
    words = tokens(feature.name) + tokens(feature.label)
    if PROTECTED_WORDS.intersection(words):
        return True
    return any(_contains(words, phrase) for phrase in PROTECTED_PHRASES)


def _contains(words: list[str], phrase: tuple[str, ...]) -> bool:
    return any(tuple(words[i:i + len(phrase)]) == phrase for i in range(len(words) - len(phrase) + 1))


def protected_names(schema: FeatureSchema, policy_names: Iterable[str] = ()) -> frozenset[str]:
    """The features never stated as reasons: declared protected, or undeclared and matching the policy's
    default list or looking protected (an undeclared one let through by an override stays withheld)."""
    policy_names = list(policy_names)
    out = set()
    for feature in schema.features:
        if feature.protected or (feature.protected is None and (matches_policy(feature, policy_names)
                                                                 or looks_protected(feature))):
            out.add(feature.name)
    return frozenset(out)


def attribution_share(contributions: Mapping[int, float], schema: FeatureSchema,
                      protected: frozenset[str]) -> float | None:
    """Share of the attribution mass (sum of |contribution|) that falls on protected features.

    0 when none is protected, None when there is no attribution at all. It says how
    much of this explanation the protected features carry; it is not a test of
    disparate impact, which needs outcomes over many applicants."""
    total = sum(abs(v) for v in contributions.values())
    if total == 0:
        return None
    on_protected = sum(abs(v) for j, v in contributions.items() if schema.features[j].name in protected)
    return float(on_protected / total)
