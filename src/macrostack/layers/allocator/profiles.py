"""Risk profiles of the allocator (Layer 6, SYSTEM.md §6).

A profile maps each regime to a target risk scalar and sets how fast the applied scalar
moves towards it (EWMA weight `alpha` per session) and the floor it never goes below
(`minimum`). Scalars are dimensionless multipliers of the Layer-5 book: 1.0 = fully levered.

    profile  NORMAL  ELEVATED  STRESS  CRISIS   alpha  minimum
    H         1.00     0.98     0.85    0.60    0.15    0.50
    M         1.00     0.90     0.70    0.45    0.20    0.35
    L         1.00     0.85     0.55    0.30    0.25    0.25

The configured profile is the profile used (predecessor defect 5): callers look it up with
`get_profile(config_value)` and pass the object on; nothing here has a default profile.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from macrostack.errors import InputError


@dataclass(frozen=True)
class RiskProfile:
    """Target scalar per regime, EWMA weight and floor of one allocator profile.

    - `scalars`: targets for NORMAL, ELEVATED, STRESS, CRISIS, each in [0, 1] and
      non-increasing (a worse regime never asks for more risk);
    - `alpha`: EWMA weight in (0, 1], per session: `s[d] = s[d-1] + alpha (target - s[d-1])`;
    - `minimum`: floor of the applied scalar, in (0, 1]; keeps `0 < s`.
    """

    name: str
    scalars: tuple[float, float, float, float]
    alpha: float
    minimum: float

    def __post_init__(self) -> None:
        where = f"allocator.profile {self.name}"
        if len(self.scalars) != 4:
            raise InputError("a profile needs 4 scalars (NORMAL, ELEVATED, STRESS, CRISIS)", where)
        if not all(math.isfinite(x) and 0.0 <= x <= 1.0 for x in self.scalars):
            raise InputError(f"scalars {self.scalars} must lie in [0, 1]", where, "the allocator only scales down")
        if any(b > a for a, b in zip(self.scalars, self.scalars[1:])):
            raise InputError(f"scalars {self.scalars} must not increase with the regime", where)
        if not (math.isfinite(self.alpha) and 0.0 < self.alpha <= 1.0):
            raise InputError(f"alpha {self.alpha} must lie in (0, 1]", where)
        if not (math.isfinite(self.minimum) and 0.0 < self.minimum <= 1.0):
            raise InputError(f"minimum {self.minimum} must lie in (0, 1]", where, "a zero scalar would flatten the book")


PROFILES: dict[str, RiskProfile] = {
    "H": RiskProfile("H", (1.00, 0.98, 0.85, 0.60), alpha=0.15, minimum=0.50),
    "M": RiskProfile("M", (1.00, 0.90, 0.70, 0.45), alpha=0.20, minimum=0.35),
    "L": RiskProfile("L", (1.00, 0.85, 0.55, 0.30), alpha=0.25, minimum=0.25),
}


def get_profile(name: str) -> RiskProfile:
    """The profile called `name` (H, M or L; case and surrounding spaces ignored)."""
    key = name.strip().upper() if isinstance(name, str) else name
    if key not in PROFILES:
        raise InputError(f"unknown allocator profile {name!r}", "allocator.profile", "use H, M or L")
    return PROFILES[key]
