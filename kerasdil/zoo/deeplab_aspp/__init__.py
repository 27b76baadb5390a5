"""Zoo entry deeplab_aspp: its record (``record.py``), builder (``model.py``) and shipped weights."""
