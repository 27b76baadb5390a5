"""minirocket: MiniRocket's fixed dilated 1D kernels with a ridge (or trained) linear head.

The builder and fitting live in :mod:`kerasdil.zoo.minirocket.model`; the record in
:mod:`kerasdil.zoo.minirocket.record`. Importing this package imports nothing heavy.
"""
