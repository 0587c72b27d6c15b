"""What "verified" means for one record: the contract between the annotation loop and the release.

Two keys of `provenance.extra` carry it. `verified_by` says who vouches for `human_verified=true`:
`annotation` (a person here accepted the record) or `upstream` (the imported dataset marked it
verified and nobody here has reviewed it yet). `review_status` says where a record stands in our
loop (`not_pushed`, `pending`, `held`). The rule the annotation loop enforces and the dataset card
states: a record a person here rejected, or on which people here disagree without resolution
(held), is never `human_verified=true`, whatever the upstream dataset said.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

# Disjoint states, in the order the card lists them. Rejected records never reach a release: the
# card counts them from the `verified` stage's rejects.
VERIFIED_HERE = "verified_here"
UPSTREAM_VERIFIED = "upstream_verified"
PENDING = "pending"
HELD = "held"
UNVERIFIED = "unverified"
REJECTED = "rejected"
STATES: tuple[str, ...] = (VERIFIED_HERE, UPSTREAM_VERIFIED, PENDING, HELD, UNVERIFIED)


def verification_state(human_verified: bool, extra: Mapping[str, Any]) -> str:
    """One of STATES for a record that is kept (released or pushed for review).

    - verified_here: a person here accepted it (`verified_by=annotation`);
    - held: people here disagreed and no policy resolved it (never verified, even if upstream was);
    - upstream_verified: the source dataset marked it verified and nobody here reviewed it;
    - pending: sent for (or waiting to be sent for) review here, no verdict yet;
    - unverified: not in our review loop and not verified upstream.
    """
    verified_by = extra.get("verified_by")
    if human_verified and verified_by == "annotation":
        return VERIFIED_HERE
    status = extra.get("review_status")
    if status == "held":
        return HELD
    if human_verified and verified_by == "upstream":
        return UPSTREAM_VERIFIED
    if status in ("pending", "not_pushed"):
        return PENDING
    return UNVERIFIED
