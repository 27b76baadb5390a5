"""Zoo entry keras_io_convnet: its record (``record.py``), builder (``model.py``) and shipped weights."""
