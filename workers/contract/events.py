"""Event types both sides treat specially."""

# Events the end of a run emits (its final model chosen). A cancelled run ends too, at its
# checkpoint's step; a run that goes on from it must not carry them.
END_OF_RUN_EVENTS = ("swa_final", "restore_best")
