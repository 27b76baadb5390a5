"""Zoo entry lraspp_mobilenetv3: its record (``record.py``), builder (``model.py``) and shipped weights."""
