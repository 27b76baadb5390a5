"""Zoo entry unet_baseline: its record (``record.py``), builder (``model.py``) and shipped weights."""
