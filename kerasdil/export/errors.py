"""The error raised for a model or input that cannot be exported as asked."""


class ExportError(ValueError):
    """A model that cannot be exported as asked; the message says why and what to do.

    A ``ValueError``, so ``kerasdil export`` prints it as one sentence and exits 2.
    """
