"""series_dsdc: a time-series classifier of residual 1D DSDC blocks (see ``model.py``, ``record.py``)."""
