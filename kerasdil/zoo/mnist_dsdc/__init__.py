"""Zoo entry mnist_dsdc: its record (``record.py``), builder (``model.py``) and shipped weights."""
