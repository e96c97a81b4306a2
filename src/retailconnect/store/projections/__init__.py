"""Read models kept up to date from events."""

from .availability import AvailabilityProjection as AvailabilityProjection
from .availability import AvailabilityView as AvailabilityView
from .availability import Reservation as Reservation

__all__ = ["AvailabilityProjection", "AvailabilityView", "Reservation"]
