"""In-silico experiments built on the public model (addiction: self-administration, place
preference, withdrawal, human chronic use, relapse).  Each returns plain numbers and is what
scripts, validation cases and tests call."""

from .addiction import (  # noqa: F401
    chronic_use,
    place_preference,
    relapse_risk,
    self_administration,
    therapeutic_liability,
    virtual_user,
    withdrawal_course,
    withdrawal_score,
)
