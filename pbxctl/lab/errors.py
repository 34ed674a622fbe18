"""The one exception the lab raises for things a user can fix or must know about."""


class LabError(RuntimeError):
    """The lab cannot run here, or a machine failed to come up."""
