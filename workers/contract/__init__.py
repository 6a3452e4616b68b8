"""What the web and the worker agree on. Imports neither Django nor torch (`make lint` checks).

- `tasks`: the Celery task and queue names; the web enqueues by name, settings import them.
- `spec`: the typed experiment spec, every setting once (default, bounds, help, evidence, form
  section, label, where it applies) and the optimizer and lr schedule registries; the web
  derives its validation, API schema, form and labels from it.
- `choices`: the names a config may choose among, as tuples read from the spec.
- `losses`: which loss fits which target.
- `splits`: how a run's rows become epochs and steps (batch sizes, steps per epoch).
- `schedules`: the learning rate of every step, for the loop and for the web's preview.
- `events`: the event types both sides treat specially.
- `preprocessing`, `inference`: features fitted on the training rows and predictions from an
  exported model, in NumPy, for the worker and the web alike.
"""
