"""text_dsdc: a text classifier head, word embeddings into residual 1D DSDC blocks (``model.py``)."""
